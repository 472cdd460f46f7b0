using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// What the engine has learned of its workers' speeds (<see cref="SpeedModel"/>, indexed by <see cref="SpeedIndex"/>)
/// and the fleet's rates derived from them: a worker as placement sees it for a task (<see cref="Member"/>), the queue's
/// expected time to drain, and the speeds a worker's view shows. Both schedulers learn (the fleet view and /api/stats
/// show it); only <see cref="FastestPlacement"/> places by it. Runs under the engine's lock.
/// </summary>
internal sealed class SpeedBook(TaskIndex tasks, WorkerRegistry workers, OrchestratorOptions options)
{
    private readonly SpeedModel _model = new();
    private readonly SpeedIndex _index = new();

    /// <summary>The model a task runs on this worker: its requirement, else the worker's default.</summary>
    public static string ModelOn(TaskRecord task, WorkerRecord worker) => task.Model ?? worker.Models[0];

    public SpeedModel.Speed? Of(string workerId, string model) => _model.Of(workerId, model);

    /// <summary>Expected seconds for this worker to run this task; null while its speed is unknown.</summary>
    public double? EstimateSeconds(WorkerRecord worker, TaskRecord task) =>
        _model.Of(worker.Id, ModelOn(task, worker))?.SecondsFor(WorkEstimate.OutputTokens(task));

    /// <summary>Measured workers whose speed runs <paramref name="outputTokens"/> of <paramref name="model"/> in under
    /// <paramref name="seconds"/>, fastest first (<see cref="SpeedIndex.Faster"/>).</summary>
    public IEnumerable<WorkerRecord> Faster(string? model, int outputTokens, double seconds) =>
        _index.Faster(model, outputTokens, seconds);

    /// <summary>Learns from a completion report: the time from lease to report, not the worker's own figures (<see cref="ObservedRun"/>).</summary>
    public void Learn(TaskRecord task, WorkerRecord worker, CompleteTaskRequest request, DateTimeOffset now)
    {
        if (ObservedRun.Sample(now - (task.LeasedAt ?? now), request.Usage?.CompletionTokens, task.MaxTokens,
                request.Content.Length, request.TimeToFirstTokenMs) is { } run)
        {
            _model.Observe(worker.Id, ModelOn(task, worker), run.Tokens, run.TimeToFirstTokenMs, run.DurationMs, run.TokensPerSecond);
        }
        _index.Update(worker, _model);
    }

    /// <summary>A run lost to a speculative copy had not finished in <paramref name="elapsed"/>: its speed is at most that.</summary>
    public void Bound(WorkerRecord loser, TaskRecord task, TimeSpan elapsed)
    {
        _model.Bound(loser.Id, ModelOn(task, loser), WorkEstimate.OutputTokens(task), elapsed);
        _index.Update(loser, _model);
    }

    /// <summary>Forgets a worker's speeds (it left the fleet view, or was revoked).</summary>
    public void Forget(WorkerRecord worker)
    {
        _model.Forget(worker.Id);
        _index.Remove(worker);
    }

    public IReadOnlyList<ModelSpeed> SpeedsOf(WorkerRecord worker) =>
        _model.OfWorker(worker.Id)
            .Select(s => new ModelSpeed(s.Model, Math.Round(s.Speed.TokensPerSecond, 1),
                Math.Round(s.Speed.TimeToFirstTokenSeconds * 1000), s.Speed.Samples))
            .ToList();

    /// <summary>Workers read by <see cref="Member"/> so far: what a placement decision costs, for tests.</summary>
    internal long MembersRead { get; private set; }

    /// <summary>A worker as placement sees it for a task of this size; null if it is not taking work or unmeasured.</summary>
    public (PoolMember Member, double Seconds)? Member(WorkerRecord f, TaskRecord task, DateTimeOffset now)
    {
        MembersRead++;
        if (f.State != WorkerState.Online || !f.Healthy || f.Drain) return null;
        // A worker that neither runs a task nor has asked for one lately is not waited for (its poll loop may be gone).
        if (f.Leases.Count == 0 && f.Parked.Count == 0 && now - f.LastPollAt > options.SchedulerRecheck) return null;
        var tokens = WorkEstimate.OutputTokens(task);
        if (_model.Of(f.Id, ModelOn(task, f)) is not { } speed) return null;
        var seconds = speed.SecondsFor(tokens);
        var rate = f.MaxConcurrency * tokens / seconds;
        double? cap = null;
        foreach (var w in f.Budget)
        {
            if (w.Limit <= 0 || w.Seconds <= 0) continue;
            switch (w.Window)
            {
                case BudgetWindow.RequestsPerMinute:
                    rate = Math.Min(rate, w.Limit / w.Seconds * tokens);
                    break;
                case BudgetWindow.TokensPerMinute:
                    rate = Math.Min(rate, w.Limit / w.Seconds * tokens / Math.Max(1, WorkEstimate.TotalTokens(task)));
                    break;
                case BudgetWindow.RequestsPerDay:
                    var left = Math.Max(0, w.Limit - w.Used);
                    if (left == 0) return null;
                    cap = left * (double)tokens;
                    break;
            }
        }
        var busy = 0.0;
        foreach (var id in f.Leases)
        {
            if (!tasks.TryGet(id, out var running)) continue;
            var at = running.SpecLeasedBy == f.Id ? running.SpecLeasedAt : running.LeasedAt ?? now;
            busy += PlacementPolicy.RemainingTokens(WorkEstimate.OutputTokens(running), (now - at).TotalSeconds,
                _model.Of(f.Id, ModelOn(running, f))?.SecondsFor(WorkEstimate.OutputTokens(running)));
        }
        var blockedUntil = Later(f.CooldownUntil, f.BudgetReadyAt);
        if (blockedUntil > now) busy += rate * (blockedUntil.Value - now).TotalSeconds;
        return (new PoolMember(rate, busy, cap), seconds);
    }

    /// <summary>The later of two optional instants.</summary>
    public static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>
    /// Expected seconds until the live work (ready, delayed and the rest of running tasks) is done by the measured,
    /// online workers at their current rates and budgets; null if no measured worker is online.
    /// </summary>
    public double? DrainSeconds(DateTimeOffset now)
    {
        var work = 0.0;
        var members = new List<PoolMember>();
        TaskRecord? sample = null;
        foreach (var task in tasks.InState(TaskState.Queued))
        {
            work += WorkEstimate.OutputTokens(task);
            sample ??= task;
        }
        foreach (var task in tasks.InState(TaskState.Leased))
        {
            sample ??= task;
        }
        if (sample is null)
        {
            return 0;
        }
        foreach (var w in workers.All)
        {
            if (Member(w, sample, now) is not { } m) continue;
            members.Add(m.Member with { TokenCap = null });
            work += m.Member.BusyTokens;
        }
        if (members.Count == 0)
        {
            return null;
        }
        var seconds = PlacementPolicy.DrainSeconds(work, members);
        return double.IsFinite(seconds) ? Math.Round(seconds, 1) : null;
    }
}
