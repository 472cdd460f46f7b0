using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The fastest scheduler's choice: which task a slot takes (<see cref="Choose"/>), whether taking it helps
/// (<see cref="PlacementPolicy.ShouldTake"/> against the clearly faster workers), which parked poll a ready task goes to,
/// and the reason a held task gives.
/// </summary>
internal sealed partial class FastestPlacement
{
    /// <summary>Expected seconds under which a worker is clearly faster than one expecting <paramref name="mySeconds"/> (not a tie).</summary>
    private static double ClearlyFasterThan(double mySeconds) => mySeconds * (1 - SpeedTie);

    /// <summary>
    /// The task this worker should take among its eligible queues, given the best head (highest priority, oldest):
    /// the head if the worker helps by taking it, else the shortest ready task of the same priority it can still finish
    /// before the faster workers would, else none (the poll parks and looks again).
    /// </summary>
    private TaskRecord? Choose(WorkerRecord worker, List<RoutingQueue> eligible, TaskRecord head, DateTimeOffset now, int? tokenBudget)
    {
        if (RequestBound(worker, head))
        {
            // Its requests are scarcer than its speed: each should carry as much work as possible.
            return Longest(eligible, head, tokenBudget, null) is { } longest && Helps(worker, eligible, longest, now) ? longest : null;
        }
        var reserved = Reserved(worker, eligible, head);
        if (reserved is not null)
        {
            // The longest tasks are kept for the request-bound workers' remaining requests while other work is left.
            head = FirstNotReserved(eligible, head, reserved) ?? head;
        }
        if (!Fits(head, tokenBudget))
        {
            // The head does not fit what the worker's token budget can take now: the longest task that does, if any.
            return (Longest(eligible, head, tokenBudget, reserved) ?? Longest(eligible, head, tokenBudget, null)) is { } fitting
                && Helps(worker, eligible, fitting, now) ? fitting : null;
        }
        if (Helps(worker, eligible, head, now))
        {
            return head;
        }
        TaskRecord? shortest = null;
        foreach (var q in eligible)
        {
            var seen = 0;
            foreach (var t in q.Ready)
            {
                if (t.Priority != head.Priority || ++seen > ShorterTaskScan) break;
                if (WorkEstimate.OutputTokens(t) < WorkEstimate.OutputTokens(shortest ?? head)) shortest = t;
            }
        }
        return shortest is not null && Helps(worker, eligible, shortest, now) ? shortest : null;
    }

    private bool Helps(WorkerRecord worker, List<RoutingQueue> eligible, TaskRecord task, DateTimeOffset now)
    {
        var mine = _s.Speeds.EstimateSeconds(worker, task);
        if (mine is null)
        {
            return true;
        }
        var faster = FasterPool(worker, task, mine.Value, now);
        return PlacementPolicy.ShouldTake(mine, WorkEstimate.OutputTokens(task), faster, Backlog(eligible, task));
    }

    /// <summary>Output tokens of the ready tasks at or above the task's priority, the task itself left out.</summary>
    private static IEnumerable<int> Backlog(List<RoutingQueue> eligible, TaskRecord task)
    {
        foreach (var q in eligible)
        {
            foreach (var t in q.Ready)
            {
                if (t.Priority < task.Priority) break;
                if (!ReferenceEquals(t, task)) yield return WorkEstimate.OutputTokens(t);
            }
        }
    }

    /// <summary>
    /// The clearly faster workers that could run this task and are taking work, fastest first, at most
    /// <see cref="FasterPoolLimit"/> of them (read from the <see cref="SpeedIndex"/>: only those measured faster,
    /// never the whole fleet).
    /// </summary>
    private List<PoolMember> FasterPool(WorkerRecord me, TaskRecord task, double mySeconds, DateTimeOffset now)
    {
        var pool = new List<PoolMember>();
        foreach (var f in _s.Speeds.Faster(task.Model, WorkEstimate.OutputTokens(task), ClearlyFasterThan(mySeconds)))
        {
            if (f == me || !f.CanServe(task.Kind, task.Provider, task.Model)) continue;
            if (_s.Speeds.Member(f, task, now) is { } member) pool.Add(member.Member);
            if (pool.Count == FasterPoolLimit) break;
        }
        return pool;
    }

    /// <summary>The fastest worker clearly faster than <paramref name="me"/> for this task and taking work, for the task's reason.</summary>
    private WorkerRecord? FastestOther(WorkerRecord me, TaskRecord task, double mySeconds, DateTimeOffset now)
    {
        foreach (var f in _s.Speeds.Faster(task.Model, WorkEstimate.OutputTokens(task), ClearlyFasterThan(mySeconds)))
        {
            if (f != me && f.CanServe(task.Kind, task.Provider, task.Model) && _s.Speeds.Member(f, task, now) is not null) return f;
        }
        return null;
    }

    /// <summary>
    /// The fastest parked long-poll that may take this task now (unmeasured workers first: they get measured), if it
    /// helps by taking it. Looks at the first eligible poll of each group of parked polls that can run the task.
    /// </summary>
    private LeaseWaiter? BestWaiter(TaskRecord task, DateTimeOffset now)
    {
        LeaseWaiter? best = null;
        var bestSeconds = double.MaxValue;
        foreach (var group in _s.Parked.Groups)
        {
            if (!group.Sample.CanServe(task.Kind, task.Provider, task.Model)) continue;
            // The group's first poll that fits the task is its fastest. A request-bound worker picks the longest ready
            // task itself (its poll, or the recheck pass).
            if (_s.Parked.First(group, now, (Placement: this, Task: task), static (w, x) =>
                    Fits(x.Task, w.TokenBudget) && !x.Placement.RequestBound(w.Worker, x.Task)) is not { } waiter) continue;
            var seconds = _s.Speeds.EstimateSeconds(waiter.Worker, task) ?? 0;
            if (seconds < bestSeconds)
            {
                best = waiter;
                bestSeconds = seconds;
            }
        }
        if (best is null)
        {
            return null;
        }
        var eligible = _s.Queues.Eligible(best.Worker) ?? [];
        if (Helps(best.Worker, eligible, task, now))
        {
            return best;
        }
        Hold(task, best.Worker, now);
        return null;
    }

    /// <summary>Says in the task's reason that it is held for a strictly faster worker, naming it.</summary>
    private void Hold(TaskRecord task, WorkerRecord declined, DateTimeOffset now)
    {
        if (_s.Speeds.EstimateSeconds(declined, task) is not { } mine || FastestOther(declined, task, mine, now) is not { } faster)
        {
            return;
        }
        task.Reason = $"held for the faster worker '{faster.Name}' ({faster.Id}), expected to finish it sooner than idle '{declined.Name}'";
    }
}
