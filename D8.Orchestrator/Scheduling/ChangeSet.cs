using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// What one lock region changed: rows to write, long-polls to wake, terminal waiters to signal, finished tasks to
/// evict. Every engine method ends its region with <see cref="Flush"/>: the rows go to the group committer in the
/// order regions ran, and whoever is woken waits for that same commit before answering. A record changed twice in a
/// region becomes one row: an immutable copy taken here, under the lock, which the store writes in its own format.
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
        Task commit;
        if (_tasks.Count + _workers.Count + _forgottenWorkers.Count == 0 && _tokensReported is null)
        {
            commit = System.Threading.Tasks.Task.CompletedTask;
        }
        else
        {
            var tasks = new TaskRow[_tasks.Count];
            for (var i = 0; i < tasks.Length; i++)
            {
                _tasks[i].Dirty = false;
                tasks[i] = StoreRows.Row(_tasks[i]);
            }
            var workers = new WorkerRow[_workers.Count];
            for (var i = 0; i < workers.Length; i++)
            {
                _workers[i].Dirty = false;
                workers[i] = StoreRows.Row(_workers[i]);
            }
            commit = store.Save(new StoreChanges
            {
                Tasks = tasks,
                Workers = workers,
                ForgottenWorkers = _forgottenWorkers.Count == 0 ? [] : _forgottenWorkers.ToArray(),
                TokensReported = _tokensReported,
            });
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
}
