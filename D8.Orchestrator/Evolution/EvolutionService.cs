using System.Collections.Concurrent;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Hosts the runs: resumes the runs the store has as "running" at start-up, starts new ones, and answers the API.
/// Each run is its own loop (<see cref="EvolutionRun.RunAsync"/>); the host stopping leaves them "running" for the
/// next start. Memory holds only running runs: a run that ends (its final row stored) is dropped, and reads of it
/// come from the <see cref="EvolutionStore"/> on demand (<see cref="StoredRun"/>); retention deletes it
/// D8_EVOLUTION_RETENTION_DAYS after it ended (<see cref="PurgeFinished"/>).
/// </summary>
public sealed partial class EvolutionService(
    EvolutionStore store, SchedulingEngine engine, OrchestratorOptions options, TimeProvider time,
    EvolutionTelemetry telemetry, ILoggerFactory loggers)
    : IHostedService
{
    /// <summary>Runs listed when the client names no limit.</summary>
    public const int DefaultListLimit = 50;
    /// <summary>Most runs one list answer holds (each is read with its genomes).</summary>
    public const int MaxListLimit = 500;

    private readonly ConcurrentDictionary<string, EvolutionRun> _runs = new(StringComparer.Ordinal);
    private readonly D8.Orchestrator.Hosting.DriverLoops _loops = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger = loggers.CreateLogger("D8.Orchestrator.Evolution");
    private readonly EvaluationCache _cache = new(store, time, options.EvalCacheAge);

    /// <summary>Runs held in memory (the running ones).</summary>
    public int RunsInMemory => _runs.Count;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var record in store.LoadRunning())
        {
            var run = EvolutionRun.Restore(record, store, engine, time, telemetry, _logger, _cache);
            _runs[run.Id] = run;
            Start(run);
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loops.WhenAll().WaitAsync(cancellationToken).ConfigureAwait(false);
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
        var run = EvolutionRun.Create(record, engine, store, time, telemetry, _logger, _cache);
        _runs[run.Id] = run;
        Start(run);
        return run.View();
    }

    /// <summary>The newest <paramref name="limit"/> runs, newest first (without specs): live ones from memory, the rest from the store.</summary>
    public IReadOnlyList<EvolutionView> List(int limit = DefaultListLimit) =>
        [.. store.LoadNewest(Math.Clamp(limit, 1, MaxListLimit)).Select(record =>
            _runs.TryGetValue(record.Id, out var live) ? live.View(withSpec: false) : StoredRun.Of(record, store).View(withSpec: false))];

    /// <summary>A run to read: the live one, else the stored one; 404 when there is neither.</summary>
    public IRunReader Get(string id) =>
        _runs.TryGetValue(id, out var run) ? run
        : StoredRun.Load(store, id) is { } stored ? stored
        : throw EngineException.NotFound("Evolution", id);

    /// <summary>The live run with this id, or null when it is not in memory (finished or unknown).</summary>
    public EvolutionRun? Live(string id) => _runs.GetValueOrDefault(id);

    /// <summary>Stops a running run (its queued tasks are cancelled); answers once the run has stopped.</summary>
    public async Task<EvolutionView> StopAsync(string id)
    {
        if (Live(id) is not { } run || run.State != EvolutionState.Running)
        {
            if (!_runs.ContainsKey(id) && store.LoadRun(id) is null) throw EngineException.NotFound("Evolution", id);
            throw EngineException.Conflict($"Evolution '{id}' is not running.");
        }
        run.RequestStop("stopped by client");
        await WhenEnded(id).ConfigureAwait(false);
        return run.View();
    }

    /// <summary>Completes when the run's loop has ended (tests and the benchmark wait on this instead of polling).</summary>
    /// <remarks>Never faults: how the loop ended is on the run (state and stop reason).</remarks>
    public Task WhenEnded(string id) => _loops.WhenEnded(id);

    /// <summary>
    /// Deletes runs that ended more than D8_EVOLUTION_RETENTION_DAYS ago with their genomes and task rows,
    /// D8_RETENTION_BATCH rows per transaction. Returns how many runs were deleted.
    /// </summary>
    public int PurgeFinished(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - options.EvolutionRetentionAge;
        var runs = 0;
        while (!ct.IsCancellationRequested)
        {
            var (rows, deleted) = store.PurgeStep(cutoff, options.RetentionBatch);
            runs += deleted;
            if (rows == 0) break;
        }
        if (runs > 0) LogPurged(runs, options.EvolutionRetentionAge.TotalDays);
        // Expired evaluation-cache entries go in the same pass.
        while (!ct.IsCancellationRequested && options.EvalCacheAge > TimeSpan.Zero
               && store.PurgeCache(time.GetUtcNow() - options.EvalCacheAge, options.RetentionBatch) > 0)
        {
        }
        return runs;
    }

    /// <summary>
    /// Starts a run's loop outside the submitting request's context, so its spans and logs are the run's own. When the
    /// loop ends with the run ended (not the host stopping), the run leaves memory.
    /// </summary>
    private void Start(EvolutionRun run) =>
        _loops.Start(run.Id, () => run.RunAsync(_stopping.Token), () => run.EndStored, () => _runs.TryRemove(run.Id, out _));

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} evolution runs that ended more than {Days} days ago")]
    private partial void LogPurged(int count, double days);
}
