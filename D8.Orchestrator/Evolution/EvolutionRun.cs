using System.Threading.Channels;
using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// One run's driver: a single loop that reads task events, applies them to the genomes, writes the change to the
/// <see cref="EvolutionStore"/> and submits whatever can start now (<see cref="Advance"/>). Tasks go through the
/// engine in-process (<see cref="RunTaskChannel"/>), with idempotency keys derived from (run, genome, purpose, case)
/// (<see cref="RunRequests"/>), so a restarted orchestrator re-attaches to the tasks it had submitted instead of running
/// them again. This file: state and the loop; EvolutionRun.Advance.cs decides what to submit, EvolutionRun.Apply.cs
/// applies results, EvolutionRun.Views.cs answers the API. The decisions themselves are in <see cref="Breeder"/>,
/// <see cref="MinibatchGate"/>, <see cref="CaseScoring"/> and <see cref="HeldOutValidation"/>.
/// </summary>
public sealed partial class EvolutionRun
{
    private readonly Lock _gate = new();
    private readonly Channel<RunEvent> _events = Channel.CreateUnbounded<RunEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SchedulingEngine _engine;
    private readonly EvolutionStore _store;
    private readonly TimeProvider _time;
    private readonly EvolutionTelemetry _telemetry;
    private readonly ILogger _logger;
    private readonly CaseScoring _scoring;
    private readonly RunRequests _requests;
    private readonly List<Genome[]> _generations = [];
    private readonly List<IReadOnlyList<SlotPlan>> _plans = [];
    private readonly Dictionary<string, string> _taskIds;
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly RunTaskChannel _tasks;
    private readonly MinibatchGate _minibatch;
    private readonly Breeder _breeder;
    private readonly HeldOutValidation _validation;
    private int _unrecorded;
    private int _firstOpen;
    private bool _endStored;

    private enum Purpose { Operator, Evaluate, Judge, Validate, ValidateJudge }

    private sealed record Pending(Purpose Purpose, Genome Genome, int Case, SubmitTaskRequest Request);

    private abstract record RunEvent;
    private sealed record Submitted(string Key, string TaskId) : RunEvent;
    private sealed record Finished(string Key, TaskView? View, string? Error) : RunEvent;
    private sealed record StopRequested(EvolutionState State, string Reason) : RunEvent;

    private EvolutionRun(RunRecord record, IReadOnlyList<Genome> genomes, Dictionary<string, string> taskIds,
        SchedulingEngine engine, EvolutionStore store, TimeProvider time, EvolutionTelemetry telemetry, ILogger logger, EvaluationCache? cache)
    {
        Record = record;
        Settings = EvolutionSettings.From(record.Spec);
        _requests = new RunRequests(record.Id, Settings);
        _scoring = new CaseScoring(Settings, _requests, cache);
        _taskIds = taskIds;
        _engine = engine;
        _store = store;
        _time = time;
        _telemetry = telemetry;
        _logger = logger;
        _tasks = new RunTaskChannel(engine, time, logger, record.Id,
            (key, taskId) => _events.Writer.TryWrite(new Submitted(key, taskId)),
            (key, view, error) => _events.Writer.TryWrite(new Finished(key, view, error)),
            () => State != EvolutionState.Running,
            key =>
            {
                lock (_gate) return _taskIds.GetValueOrDefault(key);
            });
        for (var g = 0; g < Settings.Generations; g++)
        {
            _plans.Add(GenerationPlan.For(Settings, g));
            _generations.Add(new Genome[Settings.PopulationSize]);
        }
        foreach (var genome in genomes) _generations[genome.Generation][genome.Slot] = genome;
        _minibatch = new MinibatchGate(Settings, _generations);
        _breeder = new Breeder(Settings, _generations, _requests, _minibatch, logger, record.Id);
        _validation = new HeldOutValidation(Settings, _generations, _requests);
    }

    public RunRecord Record { get; }
    public EvolutionSettings Settings { get; }
    public string Id => Record.Id;

    public EvolutionState State
    {
        get { lock (_gate) return Record.State; }
    }

    /// <summary>
    /// The run has ended and its final row is in the store, so the service may drop it from memory and answer from
    /// the store (false while running, and when even writing the failure failed: then the run stays in memory).
    /// </summary>
    public bool EndStored
    {
        get { lock (_gate) return _endStored; }
    }

    /// <summary>A new run: every generation's genomes are laid out (seeds filled in) and stored before it starts.</summary>
    public static EvolutionRun Create(RunRecord record, SchedulingEngine engine, EvolutionStore store, TimeProvider time,
        EvolutionTelemetry telemetry, ILogger logger, EvaluationCache? cache = null)
    {
        var run = new EvolutionRun(record, [], new Dictionary<string, string>(StringComparer.Ordinal), engine, store, time, telemetry, logger, cache);
        for (var g = 0; g < run.Settings.Generations; g++)
        {
            for (var slot = 0; slot < run.Settings.PopulationSize; slot++)
            {
                run._generations[g][slot] = GenerationPlan.NewGenome(run.Settings, g, slot, run._plans[g][slot]);
            }
        }
        store.Save(record, run._generations.SelectMany(g => g));
        return run;
    }

    /// <summary>A run read back from the store after a restart.</summary>
    public static EvolutionRun Restore(RunRecord record, EvolutionStore store, SchedulingEngine engine, TimeProvider time,
        EvolutionTelemetry telemetry, ILogger logger, EvaluationCache? cache = null) =>
        new(record, store.LoadGenomes(record.Id), store.LoadTasks(record.Id), engine, store, time, telemetry, logger, cache);

    /// <summary>Asks the loop to stop the run (cancelling its queued tasks).</summary>
    public void RequestStop(string reason) => _events.Writer.TryWrite(new StopRequested(EvolutionState.Stopped, reason));

    /// <summary>Runs until the run completes or stops, or the host stops (the run then resumes at the next start).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var wallTimer = StartWallTimer();
        try
        {
            var starts = new List<Action>();
            lock (_gate) Advance(starts);
            foreach (var start in starts) start();
            while (!stopping.IsCancellationRequested)
            {
                lock (_gate)
                {
                    if (Record.State != EvolutionState.Running) break;
                }
                var first = await _events.Reader.ReadAsync(stopping).ConfigureAwait(false);
                starts.Clear();
                lock (_gate)
                {
                    Apply(first);
                    // Apply whatever else has arrived, then decide once.
                    while (Record.State == EvolutionState.Running && _events.Reader.TryRead(out var next)) Apply(next);
                    Advance(starts);
                }
                foreach (var start in starts) start();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Host shutdown: the run stays "running" in the store and resumes at the next start.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or a broken store: say so on the run instead of leaving it "running" with nobody driving it.
            LogRunFailed(e, Id);
            lock (_gate)
            {
                try
                {
                    Finish(EvolutionState.Failed, "the driver stopped: " + e.Message);
                }
                catch (Exception inner) when (inner is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
                {
                    Record.State = EvolutionState.Failed;
                    Record.StopReason = "the driver stopped: " + e.Message;
                }
            }
        }
        finally
        {
            await _tasks.StopWatchingAsync().ConfigureAwait(false);
        }
        if (Record.State != EvolutionState.Running)
        {
            await CancelQueuedAsync().ConfigureAwait(false);
        }
    }

    private ITimer? StartWallTimer()
    {
        if (Settings.MaxWall is not { } wall) return null;
        var remaining = Record.CreatedAt + wall - _time.GetUtcNow();
        return _time.CreateTimer(_ => _events.Writer.TryWrite(new StopRequested(EvolutionState.Stopped,
                $"budget: max_wall_seconds ({wall.TotalSeconds:0.#} s) reached")),
            null, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Cancels the tasks still in flight when the run ended early (they are no longer needed).</summary>
    private Task CancelQueuedAsync()
    {
        List<string> ids;
        lock (_gate)
        {
            ids = [.. _pending.Keys.Select(k => _taskIds.GetValueOrDefault(k)).OfType<string>()];
            _pending.Clear();
        }
        return _tasks.CancelAsync(ids);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Evolution {RunId}: the driver stopped")]
    private partial void LogRunFailed(Exception e, string runId);
}
