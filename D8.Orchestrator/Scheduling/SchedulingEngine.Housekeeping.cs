using D8.Contracts;
using D8.Orchestrator.Telemetry;

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
            PromoteDue(now);
            ExpireCopies(now);
            ExpireLeases(now);
            foreach (var worker in _workers.Values)
            {
                if (worker.State is WorkerState.Online or WorkerState.Draining && now - worker.LastHeartbeat > _options.OfflineAfter)
                {
                    worker.State = WorkerState.Offline;
                    _changes.Worker(worker);
                    LogOffline(worker.Id, worker.Name);
                }
            }
            ForgetLongAbsentWorkers(now);

            List<TaskRecord>? late = null;
            foreach (var task in _tasks.InState(TaskState.Queued))
            {
                if (task.Deadline <= now) (late ??= []).Add(task);
            }
            foreach (var task in late ?? [])
            {
                Finish(task, TaskState.Failed, now, "deadline passed");
            }
            DropIdleQueues();
            _idempotency.Expire(now - _options.IdempotencyWindow, now, id => _tasks.TryGet(id, out var t) && !t.State.IsTerminal());
            return Flush();
        }
    }

    /// <summary>Routing queues without live tasks go (a client may name any model; the queue comes back on demand).</summary>
    private void DropIdleQueues()
    {
        List<string>? idle = null;
        foreach (var (key, queue) in _queues)
        {
            if (queue.LiveTasks == 0) (idle ??= []).Add(key);
        }
        foreach (var key in idle ?? [])
        {
            _queues.Remove(key);
        }
    }

    private void ExpireLeases(DateTimeOffset now)
    {
        List<TaskRecord>? expired = null;
        foreach (var task in _tasks.InState(TaskState.Leased))
        {
            if (task.LeaseExpiresAt <= now) (expired ??= []).Add(task);
        }
        foreach (var task in expired ?? [])
        {
            var workerId = task.LeasedBy!;
            _workers.TryGetValue(workerId, out var worker);
            if (task.SpecLeaseId is not null)
            {
                // A copy still runs: it carries on as the task's lease.
                PromoteCopy(task, now, tellLoser: true, copyWon: false);
                continue;
            }
            worker?.LostLeases.Add(task.LeaseId!);
            var message = $"lease expired: no heartbeat from worker '{workerId}' for {_options.LeaseDuration.TotalSeconds:0} s";
            var error = new TaskAttemptError(task.Attempts, FailureKind.Transient, message, workerId, now);
            LogLeaseExpired(task.Id, workerId, task.Attempts);
            Apply(task, worker, FailurePolicy.AfterStreamedContent(
                FailurePolicy.RetryOrFail(task.Attempts, task.MaxAttempts, message, _random, recordError: true), task.ContentRelayed, message), error, now);
        }
    }

    private void ForgetLongAbsentWorkers(DateTimeOffset now)
    {
        List<WorkerRecord>? absent = null;
        foreach (var worker in _workers.Values)
        {
            if (worker.State is WorkerState.Offline or WorkerState.Gone && worker.Leases.Count == 0
                && now - worker.LastHeartbeat > _options.ForgetWorkersAfter)
            {
                (absent ??= []).Add(worker);
            }
        }
        foreach (var worker in absent ?? [])
        {
            Forget(worker);
            LogForgotten(worker.Id, worker.Name, WireNames.Of(worker.State));
        }
        if (absent is not null)
        {
            RecomputeRoutability();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {WorkerId} ({Name}) is offline: no heartbeat")]
    private partial void LogOffline(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) left the fleet view: {State} for longer than D8_WORKER_FORGET_HOURS")]
    private partial void LogForgotten(string workerId, string name, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of task {TaskId} held by worker {WorkerId} expired (attempt {Attempt})")]
    private partial void LogLeaseExpired(string taskId, string workerId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} tasks finished more than {Days} days ago")]
    private partial void LogPurged(long count, double days);
}
