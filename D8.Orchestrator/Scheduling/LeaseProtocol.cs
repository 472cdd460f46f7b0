using D8.Contracts;
using D8.Orchestrator.Streaming;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The orchestrator's side of the lease protocol: the lease long-poll (parked until a task is offered to it, a slot of
/// its worker frees, or its wait ends) and a worker's reports on its lease — complete, fail, relay. The exchange the
/// worker and the orchestrator share — a slot asks for its next lease while its report is in flight, and the report
/// that frees the slot serves that parked poll — is written down in docs/worker-protocol.md ("Parked polls and
/// in-flight reports"); the worker's side is <c>SlotLoopAsync</c> in D8.Worker/Loop/WorkerLoop.cs. Each call opens
/// its own lock regions on the engine's lock.
/// </summary>
internal sealed class LeaseProtocol(EngineState s, TaskLifecycle lifecycle, Fleet fleet, Func<string, TaskRecord?> readStored)
{
    private IPlacementStrategy Placement => lifecycle.Placement;

    /// <summary>
    /// Long-poll: returns up to <paramref name="max"/> leases as soon as eligible tasks exist, or none when the wait
    /// ends. A worker in cooldown, draining, unhealthy or at its concurrency limit waits without being given tasks.
    /// </summary>
    public async Task<IReadOnlyList<TaskLease>> LeaseAsync(string workerId, int max, TimeSpan wait, CancellationToken ct,
        int? tokenBudget = null)
    {
        var deadline = s.Now + wait;
        while (true)
        {
            var leases = new List<TaskLease>();
            LeaseWaiter? waiter = null;
            Task commit;
            TimeSpan sleep;
            lock (s.Gate)
            {
                var now = s.Now;
                var worker = s.Workers.RequireLive(workerId);
                fleet.Touch(worker, now);
                worker.LastPollAt = now;
                lifecycle.PromoteDue(now);
                Placement.Fill(worker, max, now, leases, Placement.TokenBudget(tokenBudget));
                if (leases.Count == 0 && now < deadline)
                {
                    // Parked: a report that frees one of this worker's slots, or a task that becomes ready, serves it
                    // (docs/worker-protocol.md, "Parked polls and in-flight reports").
                    waiter = new LeaseWaiter(worker, max, s.Parked.NextSeq()) { TokenBudget = Placement.TokenBudget(tokenBudget) };
                    Placement.Park(waiter);
                }
                commit = s.Flush();
                sleep = deadline - now;
                if (SpeedBook.Later(worker.CooldownUntil, worker.BudgetReadyAt) is { } until && until > now && until - now < sleep)
                {
                    sleep = until - now;
                }
                // No recheck of its own: the fastest scheduler's recheck pass (FastestPlacement.Recheck.cs) offers held
                // tasks and copies of stragglers to the parked polls, best first, without waking the others.
            }
            if (waiter is null)
            {
                await commit.ConfigureAwait(false);
                return leases;
            }

            try
            {
                await waiter.Woken.Task.WaitAsync(sleep, s.Time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Wait (or cooldown) over: look again below.
            }
            catch (OperationCanceledException)
            {
                // The caller went away: whatever was handed to it goes straight back to the queue.
                lock (s.Gate)
                {
                    s.Parked.Remove(waiter);
                    foreach (var lease in waiter.Leases)
                    {
                        if (s.Tasks.TryGet(lease.TaskId, out var copied) && LeaseBook.IsCopy(copied, workerId, lease.LeaseId))
                        {
                            s.Leases.DropCopy(copied, tellHolder: false);
                        }
                        else if (s.Tasks.TryGet(lease.TaskId, out var task) && task.LeaseId == lease.LeaseId)
                        {
                            task.Attempts--;
                            lifecycle.Requeue(task, s.Now, TimeSpan.Zero);
                        }
                    }
                    _ = s.Flush();
                }
                throw;
            }

            lock (s.Gate)
            {
                s.Parked.Remove(waiter);
                leases = waiter.Leases;
                commit = waiter.Commit;
            }
            if (leases.Count > 0)
            {
                await commit.ConfigureAwait(false);
                return leases;
            }
            if (s.Now >= deadline)
            {
                return leases;
            }
        }
    }

    /// <summary>Records a result. Idempotent on the lease id; a stale lease is refused (conflict).</summary>
    public Task<TaskView> CompleteAsync(string taskId, string workerId, CompleteTaskRequest request) =>
        ReportAsync(taskId, workerId, request.LeaseId, TaskLifecycle.RepeatedCompletion,
            (task, worker, now) => lifecycle.Complete(task, worker, request, now));

    /// <summary>Records a failed attempt and applies the <see cref="FailurePolicy"/>: retry, another worker, or failure.</summary>
    public Task<TaskView> FailAsync(string taskId, string workerId, FailTaskRequest request) =>
        ReportAsync(taskId, workerId, request.LeaseId, TaskLifecycle.RepeatedFailure,
            (task, worker, now) => lifecycle.Fail(task, worker, request, now));

    /// <summary>
    /// The one path of a worker's report on its lease: a repeated report gets its first answer, a stale lease is
    /// refused, otherwise <paramref name="record"/> applies it under the lock and the answer waits for its commit.
    /// </summary>
    private async Task<TaskView> ReportAsync(string taskId, string workerId, string leaseId,
        Func<TaskRecord, string, string, TaskView?> repeated, Action<TaskRecord, WorkerRecord, DateTimeOffset> record)
    {
        TaskView? view = null;
        var commit = Task.CompletedTask;
        lock (s.Gate)
        {
            if (s.Tasks.TryGet(taskId, out var task))
            {
                var worker = s.Workers.Require(workerId);
                if (repeated(task, workerId, leaseId) is { } answer)
                {
                    return answer;
                }
                if (!LeaseBook.IsCopy(task, workerId, leaseId))
                {
                    LeaseBook.RequireCurrent(task, workerId, leaseId);
                }
                record(task, worker, s.Now);
                view = TaskViews.Of(task);
                commit = s.Flush();
            }
        }
        if (view is null)
        {
            return FinishedReport(taskId, workerId, leaseId, repeated);
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    /// <summary>A report on a task no longer in memory: it finished and is durable, so the store answers.</summary>
    private TaskView FinishedReport(string taskId, string workerId, string leaseId,
        Func<TaskRecord, string, string, TaskView?> repeated)
    {
        var task = readStored(taskId) ?? throw EngineException.NotFound("Task", taskId);
        lock (s.Gate)
        {
            s.Workers.Require(workerId);
        }
        if (repeated(task, workerId, leaseId) is { } answer)
        {
            return answer;
        }
        LeaseBook.RequireCurrent(task, workerId, leaseId);
        return TaskViews.Of(task);
    }

    /// <summary>
    /// Accepts a piece of a streamed task's answer from <paramref name="workerId"/> and publishes it to
    /// <paramref name="hub"/> (<see cref="TaskLifecycle.Relay"/>). Refuses (404, 403, 409) an unknown task, another
    /// worker's lease, a stale or copy lease, a task that does not stream, and a piece at the wrong offset.
    /// </summary>
    public void Relay(string taskId, string workerId, RelayRequest request, TaskStreamHub hub)
    {
        lock (s.Gate)
        {
            if (s.Tasks.TryGet(taskId, out var task))
            {
                s.Workers.Require(workerId);
                lifecycle.Relay(task, workerId, request, hub);
                _ = s.Flush();
                return;
            }
        }
        // Not in memory: finished (the store has it) or unknown.
        var stored = readStored(taskId) ?? throw EngineException.NotFound("Task", taskId);
        TaskLifecycle.RequireStreamed(stored);
        throw EngineException.Conflict($"Task '{taskId}' is {WireNames.Of(stored.State)}; relayed text is no longer taken.");
    }
}
