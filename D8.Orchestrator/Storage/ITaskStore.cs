namespace D8.Orchestrator.Storage;

/// <summary>
/// Durable state behind the in-memory engine. Memory holds only live tasks; the store is the record of finished
/// ones and answers reads of them. Small on purpose so a PostgreSQL store can follow.
/// </summary>
public interface ITaskStore : IAsyncDisposable
{
    /// <summary>Reads what start-up needs (indexed queries only): live tasks, workers, counts, recent idempotency keys.</summary>
    StoreSnapshot Load(DateTimeOffset idempotencySince);

    /// <summary>
    /// Queues <paramref name="writes"/> for the next group commit and returns at once (callers hold the engine lock).
    /// The task completes when the writes are durable; writes are committed in the order they were saved.
    /// </summary>
    Task Save(StoreWrite[] writes);

    /// <summary>The committed JSON of one task, or null. Called outside the engine lock.</summary>
    string? ReadTask(string id);

    /// <summary>
    /// Committed finished tasks (succeeded, failed, cancelled; or only <paramref name="state"/>), newest first, with
    /// seq below <paramref name="beforeSeq"/>. Called outside the engine lock.
    /// </summary>
    IReadOnlyList<string> ReadFinished(string? state, long? beforeSeq, int limit);

    /// <summary>
    /// Deletes at most <paramref name="batch"/> tasks that finished before <paramref name="before"/>, in one short
    /// transaction between group commits; returns how many of each state went.
    /// </summary>
    Task<IReadOnlyDictionary<string, int>> PurgeFinishedAsync(DateTimeOffset before, int batch);

    /// <summary>Null while the store commits normally; otherwise why it does not (reported by /health).</summary>
    string? Problem { get; }
}
