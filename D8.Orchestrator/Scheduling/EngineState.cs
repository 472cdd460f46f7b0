using D8.Orchestrator.Configuration;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The state the engine's parts share, all of it guarded by <see cref="Gate"/>: tasks in memory, the fleet, the
/// queues, the parked lease polls, learned speeds, the lease book and this lock region's <see cref="ChangeSet"/>.
/// <see cref="SchedulingEngine"/> owns it and holds the lock; <see cref="TaskLifecycle"/>, the placement strategy and
/// <see cref="Fleet"/> change it only from inside a lock region the engine (or the fastest scheduler's recheck timer) opened.
/// </summary>
internal sealed class EngineState
{
    public EngineState(ITaskStore store, OrchestratorOptions options, TimeProvider time, OrchestratorTelemetry telemetry, Random random)
    {
        Store = store;
        Options = options;
        Time = time;
        Telemetry = telemetry;
        Random = random;
        Changes = new ChangeSet(store);
        Parked = new ParkedPolls(Changes);
        Queues = new TaskQueues(Workers);
        Speeds = new SpeedBook(Tasks, Workers, options);
        Leases = new LeaseBook(this);
    }

    public Lock Gate { get; } = new();
    public ITaskStore Store { get; }
    public OrchestratorOptions Options { get; }
    public TimeProvider Time { get; }
    public OrchestratorTelemetry Telemetry { get; }
    public Random Random { get; }
    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>This lock region's rows to write, polls to wake and waiters to signal.</summary>
    public ChangeSet Changes { get; }
    public TaskIndex Tasks { get; } = new();
    public IdempotencyIndex Idempotency { get; } = new();
    public WorkerRegistry Workers { get; } = new();
    public TaskQueues Queues { get; }
    public ParkedPolls Parked { get; }
    public SpeedBook Speeds { get; }
    public LeaseBook Leases { get; }

    /// <summary>Task gets with ?wait= parked until their task is terminal and durable.</summary>
    public TerminalWaiters TerminalWaiters { get; } = new();

    /// <summary>Seq of the next submitted task.</summary>
    public long NextSeq { get; set; } = 1;

    /// <summary>Tokens workers reported, over all time.</summary>
    public long TokensReported { get; set; }

    /// <summary>Ends a lock region: evicts finished tasks that became durable, then flushes this region's changes.</summary>
    public Task Flush()
    {
        while (Changes.TryTakeDurable(out var durable))
        {
            foreach (var task in durable) Tasks.Evict(task);
        }
        return Changes.Flush();
    }
}
