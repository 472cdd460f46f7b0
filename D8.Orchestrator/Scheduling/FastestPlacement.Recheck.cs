using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The fastest scheduler's recheck pass: one timer for the engine (D8_SCHEDULER_RECHECK_MS), armed while polls are
/// parked and work is ready or running. Each pass offers the ready tasks to the parked polls group by group, best
/// first (<see cref="ParkedPolls"/>), stopping in a group after a few polls that take nothing (the slower ones after
/// them would not either), and lets idle fast polls copy a straggler. Parked polls never wake up by themselves to look
/// again, so a pass costs what it places plus a few declines per group, however many polls are parked.
/// </summary>
internal sealed partial class FastestPlacement
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
        _recheckTimer ??= _s.Time.CreateTimer(static state => ((FastestPlacement)state!).RecheckTick(), this,
            Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _recheckTimer.Change(_s.Options.SchedulerRecheck, Timeout.InfiniteTimeSpan);
    }

    private void RecheckTick()
    {
        try
        {
            lock (_s.Gate)
            {
                _recheckArmed = false;
                var now = _s.Now;
                _lifecycle.PromoteDue(now);
                Recheck(now);
                _ = _s.Flush();
                if (_s.Parked.Count > 0 && (_s.Queues.AnyReady() || _s.Tasks.InState(TaskState.Leased).Count > 0))
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

    /// <summary>Offers ready tasks (and copies of stragglers) to the parked polls, best first in each group.</summary>
    private void Recheck(DateTimeOffset now)
    {
        // Budgeted workers first: a request-bound one picks the longest ready task itself, which BestWaiter leaves to it.
        foreach (var worker in _s.Workers.Budgeted)
        {
            foreach (var waiter in worker.Parked.ToArray()) Serve(waiter, now);
        }
        foreach (var group in _s.Parked.Groups.ToArray())
        {
            var declined = new HashSet<LeaseWaiter>();
            while (declined.Count < RecheckMisses)
            {
                var next = _s.Parked.First(group, now, declined, static (w, d) => !d.Contains(w));
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
        Fill(waiter.Worker, waiter.Max, now, waiter.Leases, waiter.TokenBudget);
        if (waiter.Leases.Count == before)
        {
            return false;
        }
        _s.Changes.Wake(waiter);
        if (waiter.Leases.Count >= waiter.Max) _s.Parked.Remove(waiter);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduler recheck failed")]
    private partial void LogRecheckFailed(Exception ex);
}
