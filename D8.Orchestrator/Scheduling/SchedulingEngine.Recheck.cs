using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The fastest scheduler's recheck pass: one timer for the engine (D8_SCHEDULER_RECHECK_MS), armed while polls are
/// parked and work is ready or running. Each pass offers the ready tasks to the parked polls group by group, best
/// first (<see cref="ParkedPolls"/>), stopping in a group after a few polls that take nothing (the slower ones after
/// them would not either), and lets idle fast polls copy a straggler. Parked polls never wake up by themselves to look
/// again, so a pass costs what it places plus a few declines per group, however many polls are parked.
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>Polls per group that may decline in one pass before the pass moves on.</summary>
    private const int RecheckMisses = 4;

    private ITimer? _recheckTimer;
    private bool _recheckArmed;

    private void ArmRecheck()
    {
        if (_recheckArmed)
        {
            return;
        }
        _recheckArmed = true;
        _recheckTimer ??= _time.CreateTimer(static state => ((SchedulingEngine)state!).RecheckTick(), this,
            Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _recheckTimer.Change(_options.SchedulerRecheck, Timeout.InfiniteTimeSpan);
    }

    private void RecheckTick()
    {
        try
        {
            lock (_gate)
            {
                _recheckArmed = false;
                var now = Now;
                PromoteDue(now);
                Recheck(now);
                _ = Flush();
                if (_parked.Count > 0 && (AnyReady() || _tasks.InState(TaskState.Leased).Count > 0))
                {
                    ArmRecheck();
                }
            }
        }
        catch (Exception ex)
        {
            LogRecheckFailed(ex);
        }
    }

    private bool AnyReady()
    {
        foreach (var q in _queues.Values)
        {
            if (q.Ready.Count > 0) return true;
        }
        return false;
    }

    /// <summary>Offers ready tasks (and copies of stragglers) to the parked polls, best first in each group.</summary>
    private void Recheck(DateTimeOffset now)
    {
        // Budgeted workers first: a request-bound one picks the longest ready task itself, which BestWaiter leaves to it.
        foreach (var worker in _budgeted)
        {
            foreach (var waiter in worker.Parked.ToArray()) Serve(waiter, now);
        }
        foreach (var group in _parked.Groups.ToArray())
        {
            var declined = new HashSet<LeaseWaiter>();
            while (declined.Count < RecheckMisses)
            {
                LeaseWaiter? next = null;
                foreach (var waiter in group.InOrder())
                {
                    if (!declined.Contains(waiter) && waiter.Leases.Count < waiter.Max && CanLeaseNow(waiter.Worker, now))
                    {
                        next = waiter;
                        break;
                    }
                }
                if (next is null || !Serve(next, now))
                {
                    if (next is null) break;
                    declined.Add(next);
                }
            }
        }
    }

    /// <summary>Runs a parked poll's lease decision now; true if it was handed something (then it is woken).</summary>
    private bool Serve(LeaseWaiter waiter, DateTimeOffset now)
    {
        var before = waiter.Leases.Count;
        TakeEligible(waiter.Worker, waiter.Max, now, waiter.Leases, waiter.TokenBudget);
        if (waiter.Leases.Count == before)
        {
            return false;
        }
        _changes.Wake(waiter);
        if (waiter.Leases.Count >= waiter.Max) _parked.Remove(waiter);
        return true;
    }

    /// <summary>Says in the task's reason that it is held for a strictly faster worker, naming it.</summary>
    private void Hold(TaskRecord task, WorkerRecord declined, DateTimeOffset now)
    {
        if (EstimateSeconds(declined, task) is not { } mine || FastestOther(declined, task, mine, now) is not { } faster)
        {
            return;
        }
        task.Reason = $"held for the faster worker '{faster.Name}' ({faster.Id}), expected to finish it sooner than idle '{declined.Name}'";
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduler recheck failed")]
    private partial void LogRecheckFailed(Exception ex);
}
