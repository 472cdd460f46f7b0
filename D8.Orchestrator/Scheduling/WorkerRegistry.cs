using System.Diagnostics.CodeAnalysis;
using D8.Contracts;
using D8.Orchestrator.Security;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The fleet as the engine holds it: registered workers by id (gone and offline ones too, until forgotten), the ones
/// whose heartbeats report budget windows, and — kept in step — the <see cref="WorkerCredentials"/> the credential
/// handler asks. A worker becomes gone only through <see cref="MarkGone"/>, so its token stops working at that moment.
/// Runs under the engine's lock (except <see cref="Credentials"/>, which is safe from any thread).
/// </summary>
internal sealed class WorkerRegistry
{
    private readonly Dictionary<string, WorkerRecord> _byId = new(StringComparer.Ordinal);
    private readonly HashSet<WorkerRecord> _budgeted = [];

    public WorkerCredentials Credentials { get; } = new();

    public int Count => _byId.Count;

    public Dictionary<string, WorkerRecord>.ValueCollection All => _byId.Values;

    /// <summary>Workers whose last heartbeat reported budget windows (the only ones that can be request-bound).</summary>
    public IReadOnlyCollection<WorkerRecord> Budgeted => _budgeted;

    public bool TryGet(string id, [MaybeNullWhen(false)] out WorkerRecord worker) => _byId.TryGetValue(id, out worker);

    public WorkerRecord Require(string id) =>
        _byId.TryGetValue(id, out var worker) ? worker : throw EngineException.NotFound("Worker", id);

    public WorkerRecord RequireLive(string id)
    {
        var worker = Require(id);
        return worker.State == WorkerState.Gone
            ? throw EngineException.Conflict($"Worker '{id}' has deregistered; register again.")
            : worker;
    }

    /// <summary>Adds a registered (or loaded) worker; its token works unless it is gone.</summary>
    public void Add(WorkerRecord worker)
    {
        _byId[worker.Id] = worker;
        if (worker.State != WorkerState.Gone) Credentials.Allow(worker.Id, worker.TokenHash);
    }

    /// <summary>The worker left the fleet (deregistered, superseded, revoked): its token stops working.</summary>
    public void MarkGone(WorkerRecord worker)
    {
        worker.State = WorkerState.Gone;
        Credentials.Refuse(worker.Id);
    }

    /// <summary>Removes a worker from the fleet view (superseded, or absent too long).</summary>
    public void Remove(WorkerRecord worker)
    {
        MarkGone(worker);
        _byId.Remove(worker.Id);
        _budgeted.Remove(worker);
    }

    /// <summary>Budget windows from a heartbeat.</summary>
    public void SetBudget(WorkerRecord worker, IReadOnlyList<BudgetWindow>? budget)
    {
        worker.Budget = budget ?? [];
        if (worker.Budget.Count > 0) _budgeted.Add(worker);
        else _budgeted.Remove(worker);
    }

    /// <summary>True if a registered (not gone) worker can serve tasks of this requirement.</summary>
    public bool CanAnyServe(string kind, string? provider, string? model)
    {
        foreach (var w in _byId.Values)
        {
            if (w.State != WorkerState.Gone && w.CanServe(kind, provider, model)) return true;
        }
        return false;
    }
}
