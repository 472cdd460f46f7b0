using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The tasks held in memory: every live task (queued, leased) plus finished ones whose final write is not yet
/// committed. Finished tasks are evicted once durable; the store answers for them from then on. Also keeps the
/// count of tasks per state over memory and store together (for /api/stats and the queue-depth gauge).
/// </summary>
internal sealed class TaskIndex
{
    private readonly Dictionary<string, TaskRecord> _byId = new(StringComparer.Ordinal);
    private readonly SortedSet<TaskRecord> _bySeq = new(SeqOrder.Instance);
    private readonly SortedSet<TaskRecord>[] _byState =
        Enumerable.Range(0, 5).Select(_ => new SortedSet<TaskRecord>(SeqOrder.Instance)).ToArray();
    private readonly long[] _counts = new long[5];

    /// <summary>Tasks in memory.</summary>
    public int Count => _byId.Count;

    public bool TryGet(string id, out TaskRecord task) => _byId.TryGetValue(id, out task!);

    /// <summary>Adds a task; <paramref name="counted"/> false when the store's counts already include it (start-up).</summary>
    public void Add(TaskRecord task, bool counted = true)
    {
        _byId.Add(task.Id, task);
        _bySeq.Add(task);
        _byState[(int)task.State].Add(task);
        if (counted) _counts[(int)task.State]++;
    }

    /// <summary>The only code that sets a task's state (called from TaskLifecycle.cs).</summary>
    public void SetState(TaskRecord task, TaskState state)
    {
        if (task.State == state) return;
        _byState[(int)task.State].Remove(task);
        _counts[(int)task.State]--;
        task.State = state;
        _byState[(int)state].Add(task);
        _counts[(int)state]++;
    }

    /// <summary>Drops a durable finished task from memory; it stays counted (it is still in the store).</summary>
    public void Evict(TaskRecord task)
    {
        if (_byId.Remove(task.Id))
        {
            _bySeq.Remove(task);
            _byState[(int)task.State].Remove(task);
        }
    }

    /// <summary>Counts of stored tasks not in memory (start-up), or minus purged ones (negative).</summary>
    public void AdjustCount(TaskState state, long delta) => _counts[(int)state] += delta;

    public long CountOf(TaskState state) => _counts[(int)state];

    public long[] Counts() => (long[])_counts.Clone();

    public IReadOnlySet<TaskRecord> InState(TaskState state) => _byState[(int)state];

    /// <summary>Newest first, seq below <paramref name="beforeSeq"/>, optionally in one state.</summary>
    public IEnumerable<TaskRecord> Newest(TaskState? state, long? beforeSeq)
    {
        var set = state is { } s ? _byState[(int)s] : _bySeq;
        if (beforeSeq is not { } c)
        {
            return set.Reverse();
        }
        return c <= 1 ? [] : set.GetViewBetween(TaskRecord.Probe(0), TaskRecord.Probe(c - 1)).Reverse();
    }
}
