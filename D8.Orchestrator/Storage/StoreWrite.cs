namespace D8.Orchestrator.Storage;

/// <summary>Which table a write goes to.</summary>
public enum StoreTable
{
    Tasks,
    Workers,
    /// <summary>Counters kept across restarts (tokens reported); Id is the key, Json the value.</summary>
    Meta,
}

/// <summary>One row upsert: the full JSON snapshot of a task or worker at the moment it changed (or its removal).</summary>
/// <param name="Seq">Tasks: submission order (paging and restart order). Others: 0.</param>
/// <param name="State">Indexed so start-up loads only live rows and listing by state is a range scan.</param>
public readonly record struct StoreWrite(StoreTable Table, string Id, long Seq, string State, string Json)
{
    /// <summary>Tasks: the idempotency key, indexed so start-up loads only keys still inside the window.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Tasks: submission instant (Unix ms).</summary>
    public long CreatedAtMs { get; init; }

    /// <summary>Tasks: when the task finished (Unix ms), null while live; retention deletes by it.</summary>
    public long? FinishedAtMs { get; init; }

    /// <summary>Deletes the row instead (a forgotten or superseded worker).</summary>
    public bool Delete { get; init; }
}

/// <summary>What start-up needs: live tasks, workers, counters, and the idempotency keys still inside the window.</summary>
/// <param name="LiveTasks">Queued and leased tasks, in submission order.</param>
/// <param name="CountsByState">Rows per wire state name (finished tasks are counted, not loaded).</param>
/// <param name="MaxSeq">Highest submission sequence ever stored (0 when empty).</param>
/// <param name="Idempotency">Keys of tasks created since the window start, oldest first.</param>
public sealed record StoreSnapshot(
    IReadOnlyList<string> LiveTasks,
    IReadOnlyList<string> Workers,
    IReadOnlyDictionary<string, long> CountsByState,
    long MaxSeq,
    IReadOnlyList<IdempotencyRow> Idempotency,
    long TokensReported);

/// <summary>An idempotency key and the task it belongs to.</summary>
public readonly record struct IdempotencyRow(string Key, string TaskId, DateTimeOffset CreatedAt);
