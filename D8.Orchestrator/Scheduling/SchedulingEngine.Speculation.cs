using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Speculation (fastest scheduler only): when a measured worker finds nothing ready it can run, it may get a copy of a
/// task a slower worker still runs, if the copy is expected to finish well before the original
/// (<see cref="PlacementPolicy.ShouldSpeculate"/>). At most one copy per task. The first completion wins: the other
/// run's lease is taken back and its worker hears so in its next heartbeat (lost leases), so the task records one
/// result and its usage once. The copy costs at most one extra provider call per copied task.
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>Until then no poll scans the running tasks for a straggler again (the last scan found none).</summary>
    private DateTimeOffset _speculationQuietUntil;

    /// <summary>Leases this worker a copy of the running task it would speed up the most, if any.</summary>
    private void TrySpeculate(WorkerRecord worker, DateTimeOffset now, List<TaskLease> leases)
    {
        if (!MayTakeCopy(worker)) return;
        if (now < _speculationQuietUntil)
        {
            return; // a look at every running task found nothing to copy a moment ago
        }
        TaskRecord? best = null;
        var bestGain = 0.0;
        foreach (var task in _tasks.InState(TaskState.Leased))
        {
            if (task.SpecLeaseId is not null || task.LeasedBy == worker.Id
                || task.Stream // a streamed task's caller reads one run's tokens: never copied
                || !worker.CanServe(task.Kind, task.Provider, task.Model)
                || task.Deadline <= now
                || EstimateSeconds(worker, task) is not { } copy
                || !_workers.TryGetValue(task.LeasedBy!, out var holder))
            {
                continue;
            }
            var elapsed = (now - (task.LeasedAt ?? now)).TotalSeconds;
            var expected = EstimateSeconds(holder, task);
            double? remaining = expected > elapsed ? expected - elapsed : null;
            // A run is presumed stuck only after a recheck interval (unmeasured holder), or a heartbeat interval and
            // twice its own expected time (a measured one running late): not for the round trips around a short task.
            var stuckAfter = expected is { } e
                ? Math.Max(_options.HeartbeatInterval.TotalSeconds, PlacementPolicy.UnknownStuckFactor * e)
                : _options.SchedulerRecheck.TotalSeconds;
            if (!PlacementPolicy.ShouldSpeculate(copy, remaining, elapsed, stuckAfter)) continue;
            var gain = (remaining ?? elapsed) - copy;
            if (best is null || gain > bestGain)
            {
                best = task;
                bestGain = gain;
            }
        }
        if (best is null)
        {
            _speculationQuietUntil = now + _options.SchedulerRecheck;
            return;
        }
        best.SpecLeaseId = WorkerTokens.NewId();
        best.SpecLeasedBy = worker.Id;
        best.SpecLeasedAt = now;
        best.SpecLeaseExpiresAt = now + _options.LeaseDuration;
        worker.Leases.Add(best.Id);
        _speculations++;
        LogSpeculating(best.Id, best.LeasedBy!, worker.Id);
        leases.Add(TaskViews.LeaseOf(best) with { LeaseId = best.SpecLeaseId, ExpiresAt = best.SpecLeaseExpiresAt });
    }

    private static bool IsCopyLease(TaskRecord task, string workerId, string leaseId) =>
        task.SpecLeaseId is { } spec && string.Equals(spec, leaseId, StringComparison.Ordinal)
        && string.Equals(task.SpecLeasedBy, workerId, StringComparison.Ordinal);

    /// <summary>
    /// The copy becomes the task's lease (it completed first, or the original's run ended). The original's worker
    /// loses its lease; with <paramref name="tellLoser"/> it hears so in its next heartbeat and stops. If the copy
    /// won, the original's run had not finished in the time it took: its speed is at most that.
    /// </summary>
    private void PromoteCopy(TaskRecord task, DateTimeOffset now, bool tellLoser, bool copyWon)
    {
        if (task.LeasedBy is { } loserId && _workers.TryGetValue(loserId, out var loser))
        {
            if (copyWon && task.LeasedAt is { } at)
            {
                _speeds.Bound(loser.Id, ModelOn(task, loser), WorkEstimate.OutputTokens(task), now - at);
                _speedIndex.Update(loser, _speeds);
            }
            RemoveLease(loser, task.Id);
            if (tellLoser) loser.LostLeases.Add(task.LeaseId!);
        }
        if (copyWon) _speculationsWon++;
        task.LeaseId = task.SpecLeaseId;
        task.LeasedBy = task.SpecLeasedBy;
        task.LeasedAt = task.SpecLeasedAt;
        task.LeaseExpiresAt = task.SpecLeaseExpiresAt;
        ClearCopy(task);
        task.UpdatedAt = now;
        _changes.Task(task);
    }

    /// <summary>Ends the copy (the original won, the copy failed or expired, the task finished); with
    /// <paramref name="tellHolder"/> the copy's worker hears in its next heartbeat that the lease is gone.</summary>
    private void DropCopy(TaskRecord task, bool tellHolder)
    {
        if (task.SpecLeaseId is null)
        {
            return;
        }
        if (task.SpecLeasedBy is { } id && _workers.TryGetValue(id, out var holder))
        {
            RemoveLease(holder, task.Id);
            if (tellHolder) holder.LostLeases.Add(task.SpecLeaseId);
        }
        ClearCopy(task);
    }

    private static void ClearCopy(TaskRecord task)
    {
        task.SpecLeaseId = null;
        task.SpecLeasedBy = null;
    }

    /// <summary>Frees a worker's slot, waking its parked long-polls if it was full.</summary>
    private void RemoveLease(WorkerRecord worker, string taskId)
    {
        var wasFull = worker.Leases.Count >= worker.MaxConcurrency;
        if (worker.Leases.Remove(taskId) && wasFull)
        {
            WakeWaitersOf(worker);
        }
    }

    /// <summary>Copies whose lease expired (no heartbeat from their worker) end; the original runs on.</summary>
    private void ExpireCopies(DateTimeOffset now)
    {
        List<TaskRecord>? expired = null;
        foreach (var task in _tasks.InState(TaskState.Leased))
        {
            if (task.SpecLeaseId is not null && task.SpecLeaseExpiresAt <= now) (expired ??= []).Add(task);
        }
        foreach (var task in expired ?? [])
        {
            DropCopy(task, tellHolder: true);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} also runs on {CopyWorker} (speculation: {Holder} is expected to take much longer); the first result wins")]
    private partial void LogSpeculating(string taskId, string holder, string copyWorker);
}
