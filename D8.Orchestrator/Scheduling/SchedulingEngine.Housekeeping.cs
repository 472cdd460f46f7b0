using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>Periodic housekeeping: the sweep (every D8_SWEEP_INTERVAL_MS) and retention of finished tasks.</summary>
public sealed partial class SchedulingEngine
{
    /// <summary>
    /// Due retries become leasable, expired leases go back (attempt counted), silent workers go offline, queued tasks
    /// past their deadline fail, workers offline or gone for longer than D8_WORKER_FORGET_HOURS leave the fleet, and
    /// idempotency keys older than the window are forgotten. Driven by a timer in the host; tests call it directly.
    /// </summary>
    public Task SweepAsync()
    {
        lock (_gate)
        {
            var now = Now;
            _lifecycle.PromoteDue(now);
            _s.Leases.ExpireCopies(now);
            _lifecycle.ExpireLeases(now);
            _fleet.Sweep(now);
            _lifecycle.FailLate(now);
            _queues.DropIdle();
            _idempotency.Expire(now - _options.IdempotencyWindow, now, id => _tasks.TryGet(id, out var t) && !t.State.IsTerminal());
            return Flush();
        }
    }

    /// <summary>
    /// Deletes tasks finished more than D8_RETENTION_DAYS ago, D8_RETENTION_BATCH rows per transaction. Each batch
    /// queues behind the commits already waiting and is awaited before the next, so dispatch commits interleave and a
    /// large backlog never stalls them. Returns how many tasks were deleted.
    /// </summary>
    public async Task<long> PurgeFinishedAsync(CancellationToken ct)
    {
        long total = 0;
        while (!ct.IsCancellationRequested)
        {
            var removed = await _store.PurgeFinishedAsync(Now - _options.RetentionAge, _options.RetentionBatch).ConfigureAwait(false);
            var count = 0;
            lock (_gate)
            {
                foreach (var (state, n) in removed)
                {
                    _tasks.AdjustCount(state, -n);
                    count += n;
                }
            }
            total += count;
            if (count < _options.RetentionBatch)
            {
                break;
            }
        }
        if (total > 0)
        {
            LogPurged(total, _options.RetentionAge.TotalDays);
        }
        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} tasks finished more than {Days} days ago")]
    private partial void LogPurged(long count, double days);
}
