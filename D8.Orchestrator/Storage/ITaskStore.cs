using D8.Contracts;

namespace D8.Orchestrator.Storage;

/// <summary>
/// Durable state behind the in-memory engine, in typed rows: the engine builds <see cref="TaskRow"/>s and
/// <see cref="WorkerRow"/>s from its records and never sees the store's format. Memory holds only live tasks; the
/// store is the record of finished ones and answers reads of them. The contract a second store (PostgreSQL) must keep
/// is written down in docs/ARCHITECTURE.md, "Storage boundary".
/// </summary>
public interface ITaskStore : IAsyncDisposable
{
    /// <summary>Reads what start-up needs (indexed queries only): live tasks, workers, counts, recent idempotency keys.</summary>
    StoreSnapshot Load(DateTimeOffset idempotencySince);

    /// <summary>
    /// Queues one lock region's <paramref name="changes"/> for the next group commit and returns at once (callers hold
    /// the engine lock). The task completes when they are durable; saves are committed in the order they were made,
    /// and a save is never split over two transactions.
    /// </summary>
    Task Save(StoreChanges changes);

    /// <summary>The committed row of one task, or null. Called outside the engine lock.</summary>
    TaskRow? ReadTask(string id);

    /// <summary>
    /// Committed finished tasks (succeeded, failed, cancelled; or only <paramref name="state"/>), newest first, with
    /// seq below <paramref name="beforeSeq"/>. Called outside the engine lock.
    /// </summary>
    IReadOnlyList<TaskRow> ReadFinished(TaskState? state, long? beforeSeq, int limit);

    /// <summary>
    /// Deletes at most <paramref name="batch"/> tasks that finished before <paramref name="before"/>, in one short
    /// transaction between group commits; returns how many of each state went.
    /// </summary>
    Task<IReadOnlyDictionary<TaskState, int>> PurgeFinishedAsync(DateTimeOffset before, int batch);

    /// <summary>Null while the store commits normally; otherwise why it does not (reported by /health).</summary>
    string? Problem { get; }
}
