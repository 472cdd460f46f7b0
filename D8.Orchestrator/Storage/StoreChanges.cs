using D8.Contracts;

namespace D8.Orchestrator.Storage;

/// <summary>
/// What one engine lock region changed, as rows: each task and worker at the moment it changed (upserts), workers
/// to forget (deletes), and the reported-token counter. Rows are immutable snapshots, so the store may write them
/// later, off the engine lock, in whatever format it keeps.
/// </summary>
public sealed class StoreChanges
{
    public IReadOnlyList<TaskRow> Tasks { get; init; } = [];
    public IReadOnlyList<WorkerRow> Workers { get; init; } = [];
    /// <summary>Ids of workers whose rows go (forgotten, or superseded by a re-registration).</summary>
    public IReadOnlyList<string> ForgottenWorkers { get; init; } = [];
    /// <summary>The new total of tokens reported by finished tasks (kept across restarts), when it changed.</summary>
    public long? TokensReported { get; init; }
}

/// <summary>What start-up needs: live tasks, workers, counters, and the idempotency keys still inside the window.</summary>
/// <param name="LiveTasks">Queued and leased tasks, in submission order.</param>
/// <param name="CountsByState">Rows per state (finished tasks are counted, not loaded).</param>
/// <param name="MaxSeq">Highest submission sequence ever stored (0 when empty).</param>
/// <param name="Idempotency">Keys of tasks created since the window start, oldest first.</param>
public sealed record StoreSnapshot(
    IReadOnlyList<TaskRow> LiveTasks,
    IReadOnlyList<WorkerRow> Workers,
    IReadOnlyDictionary<TaskState, long> CountsByState,
    long MaxSeq,
    IReadOnlyList<IdempotencyRow> Idempotency,
    long TokensReported);

/// <summary>An idempotency key and the task it belongs to.</summary>
public readonly record struct IdempotencyRow(string Key, string TaskId, DateTimeOffset CreatedAt);
