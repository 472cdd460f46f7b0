using System.Collections.Concurrent;
using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Hosts the runs: resumes every run the store has as "running" at start-up, starts new ones, and answers the API.
/// Each run is its own loop (<see cref="EvolutionRun.RunAsync"/>); the host stopping leaves them "running" for the
/// next start.
/// </summary>
public sealed class EvolutionService(
    EvolutionStore store, SchedulingEngine engine, TimeProvider time, EvolutionTelemetry telemetry, ILoggerFactory loggers)
    : IHostedService
{
    private readonly ConcurrentDictionary<string, EvolutionRun> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _loops = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger = loggers.CreateLogger("D8.Orchestrator.Evolution");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var record in store.LoadRuns())
        {
            var run = EvolutionRun.Restore(record, store, engine, time, telemetry, _logger);
            _runs[run.Id] = run;
            if (record.State == EvolutionState.Running) Start(run);
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts a validated spec as a new run.</summary>
    public EvolutionView Submit(EvolutionSpec spec)
    {
        var now = time.GetUtcNow();
        var record = new RunRecord
        {
            Id = "evo_" + Guid.NewGuid().ToString("N")[..16],
            Spec = spec with { Seed = spec.Seed ?? Random.Shared.NextInt64(1, int.MaxValue) },
            State = EvolutionState.Running,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var run = EvolutionRun.Create(record, engine, store, time, telemetry, _logger);
        _runs[run.Id] = run;
        Start(run);
        return run.View();
    }

    public IReadOnlyList<EvolutionView> List() =>
        [.. _runs.Values.OrderByDescending(r => r.Record.CreatedAt).Select(r => r.View(withSpec: false))];

    public EvolutionRun Get(string id) =>
        _runs.TryGetValue(id, out var run) ? run : throw EngineException.NotFound("Evolution", id);

    /// <summary>Stops a running run (its queued tasks are cancelled); answers once the run has stopped.</summary>
    public async Task<EvolutionView> StopAsync(string id)
    {
        var run = Get(id);
        if (run.View(withSpec: false).State != EvolutionState.Running)
        {
            throw EngineException.Conflict($"Evolution '{id}' is not running.");
        }
        run.RequestStop("stopped by client");
        await WhenEnded(id).ConfigureAwait(false);
        return run.View();
    }

    /// <summary>Completes when the run's loop has ended (tests and the benchmark wait on this instead of polling).</summary>
    /// <remarks>Never faults: how the loop ended is on the run (state and stop reason).</remarks>
    public Task WhenEnded(string id) =>
        _loops.TryGetValue(id, out var loop) ? loop.ContinueWith(static _ => { }, TaskScheduler.Default) : Task.CompletedTask;

    /// <summary>Starts a run's loop outside the submitting request's context, so its spans and logs are the run's own.</summary>
    private void Start(EvolutionRun run)
    {
        using (ExecutionContext.SuppressFlow())
        {
            _loops[run.Id] = Task.Run(() => run.RunAsync(_stopping.Token));
        }
    }
}
