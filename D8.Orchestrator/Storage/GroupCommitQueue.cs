using System.Threading.Channels;
using D8.Contracts;

namespace D8.Orchestrator.Storage;

/// <summary>
/// The queue behind both task stores' group commit: <see cref="Save"/> and <see cref="Purge"/> return at once (callers
/// hold the engine lock); one loop (<see cref="RunAsync"/>) drains whatever is waiting — the saves merged into their
/// newest rows (<see cref="LatestRows"/>) for one transaction, then the purges, each its own — and the store's commit
/// completes the callers. Saves are taken in order and never split, so transactions commit in the order saves were made.
/// </summary>
internal sealed class GroupCommitQueue(string store)
{
    private const int MaxBatch = 4096;
    private readonly Channel<PendingWork> _pending = Channel.CreateUnbounded<PendingWork>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    public Task Save(StoreChanges changes)
    {
        var save = new PendingSave(changes);
        return _pending.Writer.TryWrite(save) ? save.Done.Task : Task.FromException(ShuttingDown());
    }

    public Task<IReadOnlyDictionary<TaskState, int>> Purge(DateTimeOffset before, int batch)
    {
        var purge = new PendingPurge(before.ToUnixTimeMilliseconds(), batch);
        return _pending.Writer.TryWrite(purge) ? purge.Done.Task : Task.FromException<IReadOnlyDictionary<TaskState, int>>(ShuttingDown());
    }

    /// <summary>Stops taking work; <see cref="RunAsync"/> ends once what is queued is committed.</summary>
    public void Complete() => _pending.Writer.TryComplete();

    /// <summary>
    /// Drains the queue until <see cref="Complete"/>: <paramref name="commit"/> gets one transaction's saves and their
    /// newest rows (and completes the saves); <paramref name="purge"/> one purge at a time.
    /// </summary>
    public async Task RunAsync(Func<IReadOnlyList<PendingSave>, LatestRows, Task> commit, Func<PendingPurge, Task> purge)
    {
        var batch = new List<PendingSave>(MaxBatch);
        var purges = new List<PendingPurge>();
        // Only the newest row of a task or worker within one transaction needs writing (saves are taken in order).
        var latest = new LatestRows();
        while (await _pending.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            purges.Clear();
            latest.Clear();
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var work))
            {
                if (work is PendingPurge p)
                {
                    purges.Add(p);
                    continue;
                }
                var save = (PendingSave)work;
                batch.Add(save);
                latest.Add(save.Changes);
            }
            if (batch.Count > 0)
            {
                await commit(batch, latest).ConfigureAwait(false);
            }
            foreach (var p in purges)
            {
                await purge(p).ConfigureAwait(false);
            }
        }
    }

    private ObjectDisposedException ShuttingDown() => new(store, "The store is shutting down.");

    internal abstract class PendingWork;

    /// <summary>One lock region's changes, completed when they are committed (or with the commit's error).</summary>
    internal sealed class PendingSave(StoreChanges changes) : PendingWork
    {
        public StoreChanges Changes { get; } = changes;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A retention step: delete at most <see cref="Batch"/> tasks finished before <see cref="BeforeMs"/>.</summary>
    internal sealed class PendingPurge(long beforeMs, int batch) : PendingWork
    {
        public long BeforeMs { get; } = beforeMs;
        public int Batch { get; } = batch;
        public TaskCompletionSource<IReadOnlyDictionary<TaskState, int>> Done { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The newest row of each task and worker in one transaction (a null worker row: delete it), and the token total.</summary>
internal sealed class LatestRows
{
    public Dictionary<string, TaskRow> Tasks { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, WorkerRow?> Workers { get; } = new(StringComparer.Ordinal);
    public long? TokensReported { get; private set; }

    public void Add(StoreChanges changes)
    {
        foreach (var task in changes.Tasks) Tasks[task.Id] = task;
        foreach (var worker in changes.Workers) Workers[worker.Id] = worker;
        foreach (var id in changes.ForgottenWorkers) Workers[id] = null;
        if (changes.TokensReported is { } tokens) TokensReported = tokens;
    }

    public void Clear()
    {
        Tasks.Clear();
        Workers.Clear();
        TokensReported = null;
    }
}
