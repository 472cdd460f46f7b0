using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Where queued tasks wait: one <see cref="RoutingQueue"/> per requirement (kind, provider, model) holding its ready
/// tasks, and one schedule of tasks waiting out a retry backoff. Its methods keep the invariants — a queued task is in
/// its queue's ready set or in the backoff schedule, never both; <see cref="RoutingQueue.Delayed"/> counts the latter and
/// <see cref="RoutingQueue.LiveTasks"/> the queue's live tasks — so no caller adjusts a set or a counter by hand.
/// Runs under the engine's lock.
/// </summary>
internal sealed class TaskQueues(WorkerRegistry workers)
{
    private readonly Dictionary<string, RoutingQueue> _byKey = new(StringComparer.Ordinal);
    private readonly SortedSet<TaskRecord> _delayed = new(NotBeforeOrder.Instance);

    /// <summary>Routing queues held (one per requirement with live tasks, until the sweep drops idle ones).</summary>
    public int Count => _byKey.Count;

    /// <summary>A live task (submitted, or loaded at start-up) joins the queue of its requirement.</summary>
    public void Join(TaskRecord task)
    {
        var key = RoutingQueue.KeyOf(task.Kind, task.Provider, task.Model);
        if (!_byKey.TryGetValue(key, out var queue))
        {
            queue = new RoutingQueue(task.Kind, task.Provider, task.Model);
            queue.Unroutable = !workers.CanAnyServe(queue.Kind, queue.Provider, queue.Model);
            _byKey.Add(key, queue);
        }
        task.Queue = queue;
        queue.Joined();
    }

    /// <summary>A task finishes: off its ready set or backoff schedule, and no longer live in its queue.</summary>
    public void Leave(TaskRecord task)
    {
        if (task.State == TaskState.Queued)
        {
            Remove(task);
        }
        task.Queue!.Left();
    }

    /// <summary>The task may be leased now: into its queue's ready set.</summary>
    public void AddReady(TaskRecord task) => task.Queue!.AddReady(task);

    /// <summary>The task waits out a backoff until <paramref name="notBefore"/>.</summary>
    public void Delay(TaskRecord task, DateTimeOffset notBefore)
    {
        task.NotBefore = notBefore;
        _delayed.Add(task);
        task.Queue!.DelayedOne();
    }

    /// <summary>The next task whose backoff is over (taken off the schedule), if any.</summary>
    public bool TryTakeDue(DateTimeOffset now, out TaskRecord task)
    {
        if (_delayed.Count == 0 || !(_delayed.Min!.NotBefore <= now))
        {
            task = null!;
            return false;
        }
        task = _delayed.Min;
        _delayed.Remove(task);
        task.Queue!.UndelayedOne();
        return true;
    }

    /// <summary>Takes a task being leased off its ready set (a no-op for a task handed straight to a parked poll).</summary>
    public void Take(TaskRecord task) => task.Queue!.RemoveReady(task);

    /// <summary>Takes a queued task off its ready set or backoff schedule, whichever holds it.</summary>
    private void Remove(TaskRecord task)
    {
        if (!task.Queue!.RemoveReady(task) && task.NotBefore is not null && _delayed.Remove(task))
        {
            task.Queue.UndelayedOne();
        }
    }

    /// <summary>The queues with ready tasks this worker can serve; null if none.</summary>
    public List<RoutingQueue>? Eligible(WorkerRecord worker)
    {
        List<RoutingQueue>? eligible = null;
        foreach (var q in _byKey.Values)
        {
            if (q.Ready.Count > 0 && worker.CanServe(q.Kind, q.Provider, q.Model)) (eligible ??= []).Add(q);
        }
        return eligible;
    }

    /// <summary>The best head (highest priority, oldest) among <paramref name="eligible"/>, or null.</summary>
    public static TaskRecord? BestHead(List<RoutingQueue> eligible)
    {
        TaskRecord? head = null;
        foreach (var q in eligible)
        {
            if (q.Head is { } candidate && (head is null || PriorityOrder.Instance.Compare(candidate, head) < 0)) head = candidate;
        }
        return head;
    }

    public bool AnyReady()
    {
        foreach (var q in _byKey.Values)
        {
            if (q.Ready.Count > 0) return true;
        }
        return false;
    }

    /// <summary>Queued tasks (ready or in backoff) that no registered worker can serve.</summary>
    public long Unroutable()
    {
        long unroutable = 0;
        foreach (var q in _byKey.Values)
        {
            if (q.Unroutable) unroutable += q.Ready.Count + q.Delayed;
        }
        return unroutable;
    }

    /// <summary>The queue of this requirement, if it exists.</summary>
    public RoutingQueue? Find(string kind, string? provider, string? model) =>
        _byKey.GetValueOrDefault(RoutingQueue.KeyOf(kind, provider, model));

    /// <summary>After the fleet changed: which requirements no registered worker serves.</summary>
    public void RecomputeRoutability()
    {
        foreach (var q in _byKey.Values)
        {
            q.Unroutable = !workers.CanAnyServe(q.Kind, q.Provider, q.Model);
        }
    }

    /// <summary>Routing queues without live tasks go (a client may name any model; the queue comes back on demand).</summary>
    public void DropIdle()
    {
        List<string>? idle = null;
        foreach (var (key, queue) in _byKey)
        {
            if (queue.LiveTasks == 0) (idle ??= []).Add(key);
        }
        foreach (var key in idle ?? [])
        {
            _byKey.Remove(key);
        }
    }
}
