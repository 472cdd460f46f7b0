using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The fastest scheduler's placement under the lock: learned speeds (<see cref="SpeedModel"/>) and the fleet's state
/// turned into the inputs of <see cref="PlacementPolicy"/>. Which task a slot gets, whether it gets one at all, and the
/// queue's expected time to drain.
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>Ready tasks of the head's priority looked at for a shorter one a slow worker can still finish in time.</summary>
    private const int ShorterTaskScan = 32;

    /// <summary>
    /// Workers whose expected times differ by less than this fraction are equally fast: speeds are learned from the
    /// time between lease and report (<see cref="ObservedRun"/>), so two workers of the same speed are never measured
    /// exactly alike (rounding, network and polling jitter), and a worker only holds a task back when it is clearly faster.
    /// </summary>
    internal const double SpeedTie = 0.05;

    /// <summary>True if <paramref name="seconds"/> is clearly less than <paramref name="mySeconds"/> (not a tie).</summary>
    private static bool ClearlyFaster(double seconds, double mySeconds) => seconds < mySeconds * (1 - SpeedTie);

    private readonly SpeedModel _speeds = new();
    private readonly SpeedIndex _speedIndex = new();
    private long _speculations;
    private long _speculationsWon;

    private bool Fastest => _options.Scheduler == SchedulerKind.Fastest;

    /// <summary>The model a task runs on this worker: its requirement, else the worker's default.</summary>
    private static string ModelOn(TaskRecord task, WorkerRecord worker) => task.Model ?? worker.Models[0];

    /// <summary>Expected seconds for this worker to run this task; null while its speed is unknown.</summary>
    private double? EstimateSeconds(WorkerRecord worker, TaskRecord task) =>
        _speeds.Of(worker.Id, ModelOn(task, worker))?.SecondsFor(WorkEstimate.OutputTokens(task));

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
        var mine = EstimateSeconds(worker, task);
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

    /// <summary>The workers that could run this task and are measured faster than <paramref name="mySeconds"/>
    /// (read from the <see cref="SpeedIndex"/>: only those that may be faster, never the whole fleet).</summary>
    private List<PoolMember> FasterPool(WorkerRecord me, TaskRecord task, double mySeconds, DateTimeOffset now)
    {
        var pool = new List<PoolMember>();
        foreach (var f in _speedIndex.MaybeFaster(task.Model, WorkEstimate.OutputTokens(task), mySeconds * (1 - SpeedTie)))
        {
            if (f == me || !f.CanServe(task.Kind, task.Provider, task.Model)) continue;
            // Clearly faster only: an equally fast worker never holds a task back from another.
            if (Member(f, task, now) is { } member && ClearlyFaster(member.Seconds, mySeconds)) pool.Add(member.Member);
        }
        return pool;
    }

    /// <summary>The fastest worker strictly faster than <paramref name="me"/> for this task, for the task's reason.</summary>
    private WorkerRecord? FastestOther(WorkerRecord me, TaskRecord task, double mySeconds, DateTimeOffset now)
    {
        foreach (var f in _speedIndex.MaybeFaster(task.Model, WorkEstimate.OutputTokens(task), mySeconds * (1 - SpeedTie)))
        {
            if (f != me && f.CanServe(task.Kind, task.Provider, task.Model) && Member(f, task, now) is { } m && ClearlyFaster(m.Seconds, mySeconds)) return f;
        }
        return null;
    }

    /// <summary>A worker as placement sees it for a task of this size; null if it is not taking work or unmeasured.</summary>
    private (PoolMember Member, double Seconds)? Member(WorkerRecord f, TaskRecord task, DateTimeOffset now)
    {
        if (f.State != WorkerState.Online || !f.Healthy || f.Drain) return null;
        // A worker that neither runs a task nor has asked for one lately is not waited for (its poll loop may be gone).
        if (f.Leases.Count == 0 && f.Parked.Count == 0 && now - f.LastPollAt > _options.SchedulerRecheck) return null;
        var tokens = WorkEstimate.OutputTokens(task);
        if (_speeds.Of(f.Id, ModelOn(task, f)) is not { } speed) return null;
        var seconds = speed.SecondsFor(tokens);
        var rate = f.MaxConcurrency * tokens / seconds;
        double? cap = null;
        foreach (var w in f.Budget)
        {
            if (w.Limit <= 0 || w.Seconds <= 0) continue;
            switch (w.Window)
            {
                case BudgetWindow.RequestsPerMinute:
                    rate = Math.Min(rate, w.Limit / w.Seconds * tokens);
                    break;
                case BudgetWindow.TokensPerMinute:
                    rate = Math.Min(rate, w.Limit / w.Seconds * tokens / Math.Max(1, WorkEstimate.TotalTokens(task)));
                    break;
                case BudgetWindow.RequestsPerDay:
                    var left = Math.Max(0, w.Limit - w.Used);
                    if (left == 0) return null;
                    cap = left * (double)tokens;
                    break;
            }
        }
        var busy = 0.0;
        foreach (var id in f.Leases)
        {
            if (!_tasks.TryGet(id, out var running)) continue;
            var at = running.SpecLeasedBy == f.Id ? running.SpecLeasedAt : running.LeasedAt ?? now;
            busy += PlacementPolicy.RemainingTokens(WorkEstimate.OutputTokens(running), (now - at).TotalSeconds,
                _speeds.Of(f.Id, ModelOn(running, f))?.SecondsFor(WorkEstimate.OutputTokens(running)));
        }
        var blockedUntil = Max(f.CooldownUntil, f.BudgetReadyAt);
        if (blockedUntil > now) busy += rate * (blockedUntil.Value - now).TotalSeconds;
        return (new PoolMember(rate, busy, cap), seconds);
    }

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>
    /// The fastest parked long-poll that may take this task now (unmeasured workers first: they get measured), if it
    /// helps by taking it. Looks at the first eligible poll of each group of parked polls that can run the task.
    /// </summary>
    private LeaseWaiter? BestWaiter(TaskRecord task, DateTimeOffset now)
    {
        LeaseWaiter? best = null;
        var bestSeconds = double.MaxValue;
        foreach (var group in _parked.Groups)
        {
            if (!group.Sample.CanServe(task.Kind, task.Provider, task.Model)) continue;
            foreach (var waiter in group.InOrder())
            {
                if (waiter.Leases.Count >= waiter.Max || !CanLeaseNow(waiter.Worker, now)
                    || !Fits(task, waiter.TokenBudget)
                    // A request-bound worker picks the longest ready task itself (its poll, or the recheck pass).
                    || RequestBound(waiter.Worker, task)) continue;
                var seconds = EstimateSeconds(waiter.Worker, task) ?? 0;
                if (seconds < bestSeconds)
                {
                    best = waiter;
                    bestSeconds = seconds;
                }
                break; // the first eligible poll is the group's fastest
            }
        }
        if (best is null)
        {
            return null;
        }
        var eligible = EligibleQueues(best.Worker) ?? [];
        if (Helps(best.Worker, eligible, task, now))
        {
            return best;
        }
        Hold(task, best.Worker, now);
        return null;
    }

    /// <summary>Hands a ready task to a parked poll (fifo: the first that can take it; fastest: <see cref="BestWaiter"/>).</summary>
    private bool PlaceOnParked(TaskRecord task, DateTimeOffset now)
    {
        if (Fastest)
        {
            if (BestWaiter(task, now) is not { } chosen)
            {
                return false;
            }
            GrantTo(chosen, task, now);
            return true;
        }
        foreach (var group in _parked.Groups)
        {
            if (!group.Sample.CanServe(task.Kind, task.Provider, task.Model)) continue;
            foreach (var waiter in group.InOrder())
            {
                if (waiter.Leases.Count < waiter.Max && CanLeaseNow(waiter.Worker, now))
                {
                    GrantTo(waiter, task, now);
                    return true;
                }
            }
        }
        return false;
    }

    private void GrantTo(LeaseWaiter waiter, TaskRecord task, DateTimeOffset now)
    {
        Grant(task, waiter.Worker, now, waiter.Leases);
        _changes.Wake(waiter);
        if (waiter.Leases.Count >= waiter.Max) _parked.Remove(waiter);
    }

    /// <summary>Parks a poll; the fastest scheduler's recheck pass will look at it.</summary>
    private void Park(LeaseWaiter waiter)
    {
        _parked.Park(waiter, Fastest && _speeds.Of(waiter.Worker.Id, waiter.Worker.Models[0]) is { } speed
            ? speed.SecondsFor(WorkEstimate.DefaultOutputTokens)
            : null);
        if (Fastest) ArmRecheck();
    }

    private List<RoutingQueue>? EligibleQueues(WorkerRecord worker)
    {
        List<RoutingQueue>? eligible = null;
        foreach (var q in _queues.Values)
        {
            if (q.Ready.Count > 0 && worker.CanServe(q.Kind, q.Provider, q.Model)) (eligible ??= []).Add(q);
        }
        return eligible;
    }

    /// <summary>Learns from a completion report: the time from lease to report, not the worker's own figures (<see cref="ObservedRun"/>).</summary>
    private void LearnSpeed(TaskRecord task, WorkerRecord worker, CompleteTaskRequest request, DateTimeOffset now)
    {
        if (ObservedRun.Sample(now - (task.LeasedAt ?? now), request.Usage?.CompletionTokens, task.MaxTokens,
                request.Content.Length, request.TimeToFirstTokenMs) is { } run)
        {
            _speeds.Observe(worker.Id, ModelOn(task, worker), run.Tokens, run.TimeToFirstTokenMs, run.DurationMs, run.TokensPerSecond);
        }
        _speedIndex.Update(worker, _speeds);
    }

    /// <summary>
    /// Expected seconds until the live work (ready, delayed and the rest of running tasks) is done by the measured,
    /// online workers at their current rates and budgets; null if no measured worker is online.
    /// </summary>
    private double? DrainSeconds(DateTimeOffset now)
    {
        var work = 0.0;
        var members = new List<PoolMember>();
        TaskRecord? sample = null;
        foreach (var task in _tasks.InState(TaskState.Queued))
        {
            work += WorkEstimate.OutputTokens(task);
            sample ??= task;
        }
        foreach (var task in _tasks.InState(TaskState.Leased))
        {
            sample ??= task;
        }
        if (sample is null)
        {
            return 0;
        }
        foreach (var w in _workers.Values)
        {
            if (Member(w, sample, now) is not { } m) continue;
            members.Add(m.Member with { TokenCap = null });
            work += m.Member.BusyTokens;
        }
        if (members.Count == 0)
        {
            return null;
        }
        var seconds = PlacementPolicy.DrainSeconds(work, members);
        return double.IsFinite(seconds) ? Math.Round(seconds, 1) : null;
    }

    private IReadOnlyList<ModelSpeed> SpeedsOf(WorkerRecord worker) =>
        _speeds.OfWorker(worker.Id)
            .Select(s => new ModelSpeed(s.Model, Math.Round(s.Speed.TokensPerSecond, 1),
                Math.Round(s.Speed.TimeToFirstTokenSeconds * 1000), s.Speed.Samples))
            .ToList();
}
