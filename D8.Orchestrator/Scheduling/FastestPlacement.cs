using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The fastest scheduler (D8_SCHEDULER=fastest): learned speeds (<see cref="SpeedBook"/>) and the fleet's state turned
/// into the inputs of <see cref="PlacementPolicy"/>. A slot gets the head of the queue only if it helps by taking it
/// (else a shorter task it can still finish in time, or nothing: its poll parks and the recheck pass looks again);
/// request-bound workers get the longest tasks (<c>FastestPlacement.ScarceRequests.cs</c>); a task that becomes ready
/// goes to the fastest parked poll that helps; an idle fast worker may copy a straggler
/// (<c>FastestPlacement.Speculation.cs</c>). This file: the lease decision and where a ready task goes.
/// </summary>
internal sealed partial class FastestPlacement : IPlacementStrategy
{
    /// <summary>Ready tasks of the head's priority looked at for a shorter one a slow worker can still finish in time.</summary>
    private const int ShorterTaskScan = 32;

    /// <summary>
    /// Workers whose expected times differ by less than this fraction are equally fast: speeds are learned from the
    /// time between lease and report (<see cref="ObservedRun"/>), so two workers of the same speed are never measured
    /// exactly alike (rounding, network and polling jitter), and a worker only holds a task back when it is clearly faster.
    /// </summary>
    internal const double SpeedTie = 0.05;

    /// <summary>
    /// At most this many clearly faster workers (the fastest) count against a slower one. Leaving the rest out can only
    /// make the pool look slower, so a slower worker takes a task sooner, never later, than with the whole pool; it keeps
    /// a placement decision's cost independent of the fleet's size when thousands of workers are measured faster (a
    /// large homogeneous fleet whose measured speeds differ by network jitter).
    /// </summary>
    internal const int FasterPoolLimit = 32;

    private readonly EngineState _s;
    private readonly TaskLifecycle _lifecycle;
    private readonly ILogger _logger;

    public FastestPlacement(EngineState state, TaskLifecycle lifecycle, ILogger logger)
    {
        _s = state;
        _lifecycle = lifecycle;
        _logger = logger;
    }

    public string Name => "fastest";

    public int? TokenBudget(int? asked) => asked;

    /// <summary>
    /// Leases up to <paramref name="max"/> of the best ready tasks this worker can serve; may decline (the faster
    /// workers would finish the task sooner) or, when nothing is ready for this worker, hand it a copy of a straggler.
    /// </summary>
    public void Fill(WorkerRecord worker, int max, DateTimeOffset now, List<TaskLease> leases, int? tokenBudget)
    {
        var budget = tokenBudget;
        var eligible = _s.Queues.Eligible(worker);
        if (eligible is null)
        {
            if (LeaseBook.CanLease(worker, now) && leases.Count < max) TrySpeculate(worker, now, leases);
            return;
        }
        while (leases.Count < max && LeaseBook.CanLease(worker, now))
        {
            if (TaskQueues.BestHead(eligible) is not { } head)
            {
                TrySpeculate(worker, now, leases);
                return;
            }
            if (head.Deadline <= now)
            {
                _lifecycle.Finish(head, TaskState.Failed, now, "deadline passed");
                continue;
            }
            if (Choose(worker, eligible, head, now, budget) is var chosen && !ReferenceEquals(chosen, head))
            {
                if (chosen is null)
                {
                    Hold(head, worker, now);
                    return; // better left to faster workers (or nothing fits the token budget): the poll parks
                }
                head = chosen;
            }
            budget -= WorkEstimate.TotalTokens(head);
            _lifecycle.Lease(head, worker, now, leases);
        }
    }

    /// <summary>Hands a ready task to the best parked poll (<see cref="BestWaiter"/>), else queues it for the recheck pass.</summary>
    public void Offer(TaskRecord task, DateTimeOffset now)
    {
        if (BestWaiter(task, now) is { } chosen)
        {
            _lifecycle.LeaseTo(chosen, task, now);
            return;
        }
        _s.Queues.AddReady(task);
        if (_s.Parked.Count > 0) ArmRecheck();
    }

    /// <summary>Parks a poll, measured workers by their expected time for a task of the default size; the recheck pass will look at it.</summary>
    public void Park(LeaseWaiter waiter)
    {
        _s.Parked.Park(waiter, _s.Speeds.Of(waiter.Worker.Id, waiter.Worker.Models[0]) is { } speed
            ? speed.SecondsFor(WorkEstimate.DefaultOutputTokens)
            : null, LeaseBook.CanLease(waiter.Worker, _s.Now));
        ArmRecheck();
    }
}
