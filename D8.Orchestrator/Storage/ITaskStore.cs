namespace D8.Orchestrator.Storage;

/// <summary>
/// Durable state behind the in-memory engine. Small on purpose so a PostgreSQL store can follow:
/// load everything once at start-up, then append row snapshots in order.
/// </summary>
public interface ITaskStore : IAsyncDisposable
{
    /// <summary>Reads every stored task and worker (tasks in submission order).</summary>
    StoreSnapshot Load();

    /// <summary>
    /// Queues <paramref name="writes"/> for the next group commit and returns at once (callers hold the engine lock).
    /// The task completes when the writes are durable; writes are committed in the order they were saved.
    /// </summary>
    Task Save(StoreWrite[] writes);

    /// <summary>Null while the store commits normally; otherwise why it does not (reported by /health).</summary>
    string? Problem { get; }
}
