using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Speculation: when a measured worker finds nothing ready it can run, it may get a copy of a
/// task a slower worker still runs, if the copy is expected to finish well before the original
/// (<see cref="PlacementPolicy.ShouldSpeculate"/>). At most one copy per task; the copy is a kind of lease
/// (<see cref="LeaseBook.GrantCopy"/>): the first completion wins, the other run's lease is taken back and its worker
/// hears so in its next heartbeat (lost leases), so the task records one result and its usage once. The copy costs at
/// most one extra provider call per copied task.
/// </summary>
internal sealed partial class FastestPlacement
{
    /// <summary>Until then no poll scans the running tasks for a straggler again (the last scan found none).</summary>
    private DateTimeOffset _speculationQuietUntil;

    /// <summary>Leases this worker a copy of the running task it would speed up the most, if any.</summary>
    private void TrySpeculate(WorkerRecord worker, DateTimeOffset now, List<TaskLease> leases)
    {
        if (!_s.Leases.MayTakeCopy(worker)) return;
        if (now < _speculationQuietUntil)
        {
            return; // a look at every running task found nothing to copy a moment ago
        }
        TaskRecord? best = null;
        var bestGain = 0.0;
        foreach (var task in _s.Tasks.InState(TaskState.Leased))
        {
            if (task.SpecLeaseId is not null || task.LeasedBy == worker.Id
                || task.Stream // a streamed task's caller reads one run's tokens: never copied
                || !worker.CanServe(task.Kind, task.Provider, task.Model)
                || task.Deadline <= now
                || _s.Speeds.EstimateSeconds(worker, task) is not { } copy
                || !_s.Workers.TryGet(task.LeasedBy!, out var holder))
            {
                continue;
            }
            var elapsed = (now - (task.LeasedAt ?? now)).TotalSeconds;
            var expected = _s.Speeds.EstimateSeconds(holder, task);
            double? remaining = expected > elapsed ? expected - elapsed : null;
            // A run is presumed stuck only after a recheck interval (unmeasured holder), or a heartbeat interval and
            // twice its own expected time (a measured one running late): not for the round trips around a short task.
            var stuckAfter = expected is { } e
                ? Math.Max(_s.Options.HeartbeatInterval.TotalSeconds, PlacementPolicy.UnknownStuckFactor * e)
                : _s.Options.SchedulerRecheck.TotalSeconds;
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
            _speculationQuietUntil = now + _s.Options.SchedulerRecheck;
            return;
        }
        LogSpeculating(best.Id, best.LeasedBy!, worker.Id);
        leases.Add(_s.Leases.GrantCopy(best, worker, now));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} also runs on {CopyWorker} (speculation: {Holder} is expected to take much longer); the first result wins")]
    private partial void LogSpeculating(string taskId, string holder, string copyWorker);
}
