using System.Globalization;
using System.Text.Json;
using D8.Contracts;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// What one lock region changed: rows to write, long-polls to wake, terminal waiters to signal, finished tasks to
/// evict. Every engine method ends its region with <see cref="Flush"/>: the rows go to the group committer in the
/// order regions ran, and whoever is woken waits for that same commit before answering. A row changed twice in a
/// region is serialized once.
/// </summary>
internal sealed class ChangeSet(ITaskStore store)
{
    private readonly List<TaskRecord> _tasks = [];
    private readonly List<WorkerRecord> _workers = [];
    private readonly List<string> _forgottenWorkers = [];
    private readonly List<LeaseWaiter> _woken = [];
    private readonly List<TaskCompletionSource<Task>> _terminal = [];
    private readonly List<TaskRecord> _finished = [];
    private long? _tokensReported;
    // Finished tasks waiting for their region's commit, in commit order (commits complete in order).
    private readonly Queue<(Task Commit, TaskRecord[] Tasks)> _awaitingCommit = new();

    public void Task(TaskRecord task)
    {
        if (task.Dirty) return;
        task.Dirty = true;
        _tasks.Add(task);
    }

    public void Worker(WorkerRecord worker)
    {
        if (worker.Dirty) return;
        worker.Dirty = true;
        _workers.Add(worker);
    }

    public void ForgetWorker(string workerId) => _forgottenWorkers.Add(workerId);

    public void TokensReported(long total) => _tokensReported = total;

    public void Wake(LeaseWaiter waiter) => _woken.Add(waiter);

    public void Signal(IEnumerable<TaskCompletionSource<Task>> waiters) => _terminal.AddRange(waiters);

    /// <summary>A task reached a terminal state: it leaves memory once this region's commit is durable.</summary>
    public void Finished(TaskRecord task) => _finished.Add(task);

    /// <summary>
    /// Finished tasks whose final row is now durable (to evict from memory). A failed commit keeps its tasks in
    /// memory: the store does not have their final state.
    /// </summary>
    public bool TryTakeDurable(out TaskRecord[] tasks)
    {
        while (_awaitingCommit.TryPeek(out var oldest) && oldest.Commit.IsCompleted)
        {
            _awaitingCommit.Dequeue();
            if (oldest.Commit.IsCompletedSuccessfully)
            {
                tasks = oldest.Tasks;
                return true;
            }
        }
        tasks = [];
        return false;
    }

    /// <summary>Hands this region's writes to the group committer and wakes whoever waits on them.</summary>
    public Task Flush()
    {
        var count = _tasks.Count + _workers.Count + _forgottenWorkers.Count + (_tokensReported is null ? 0 : 1);
        Task commit;
        if (count == 0)
        {
            commit = System.Threading.Tasks.Task.CompletedTask;
        }
        else
        {
            var writes = new StoreWrite[count];
            var i = 0;
            foreach (var task in _tasks)
            {
                task.Dirty = false;
                writes[i++] = Row(task);
            }
            foreach (var worker in _workers)
            {
                worker.Dirty = false;
                writes[i++] = new StoreWrite(StoreTable.Workers, worker.Id, 0, WireNames.Of(worker.State),
                    JsonSerializer.Serialize(worker, StoreJsonContext.Default.WorkerRecord));
            }
            foreach (var id in _forgottenWorkers)
            {
                writes[i++] = new StoreWrite(StoreTable.Workers, id, 0, "", "") { Delete = true };
            }
            if (_tokensReported is { } tokens)
            {
                writes[i] = new StoreWrite(StoreTable.Meta, "tokens_reported", 0, "",
                    tokens.ToString(CultureInfo.InvariantCulture));
            }
            commit = store.Save(writes);
        }
        _tasks.Clear();
        _workers.Clear();
        _forgottenWorkers.Clear();
        _tokensReported = null;
        foreach (var waiter in _woken)
        {
            waiter.Commit = commit;
            waiter.Woken.TrySetResult();
        }
        _woken.Clear();
        foreach (var signal in _terminal)
        {
            signal.TrySetResult(commit);
        }
        _terminal.Clear();
        if (_finished.Count > 0)
        {
            _awaitingCommit.Enqueue((commit, _finished.ToArray()));
            _finished.Clear();
        }
        return commit;
    }

    private static StoreWrite Row(TaskRecord task) =>
        new(StoreTable.Tasks, task.Id, task.Seq, WireNames.Of(task.State),
            JsonSerializer.Serialize(task, StoreJsonContext.Default.TaskRecord))
        {
            IdempotencyKey = task.IdempotencyKey,
            CreatedAtMs = task.CreatedAt.ToUnixTimeMilliseconds(),
            FinishedAtMs = task.State.IsTerminal() ? task.UpdatedAt.ToUnixTimeMilliseconds() : null,
        };
}
