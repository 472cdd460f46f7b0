using D8.Contracts;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>Leasing (the long-poll) and a worker's reports on its leases: complete and fail.</summary>
public sealed partial class SchedulingEngine
{
    /// <summary>
    /// Long-poll: returns up to <paramref name="max"/> leases as soon as eligible tasks exist, or none when the wait
    /// ends. A worker in cooldown, draining, unhealthy or at its concurrency limit waits without being given tasks.
    /// </summary>
    public async Task<IReadOnlyList<TaskLease>> LeaseAsync(string workerId, int max, TimeSpan wait, CancellationToken ct,
        int? tokenBudget = null)
    {
        var deadline = Now + wait;
        while (true)
        {
            var leases = new List<TaskLease>();
            LeaseWaiter? waiter = null;
            Task commit;
            TimeSpan sleep;
            lock (_gate)
            {
                var now = Now;
                var worker = RequireLiveWorker(workerId);
                Touch(worker, now);
                worker.LastPollAt = now;
                PromoteDue(now);
                TakeEligible(worker, max, now, leases, tokenBudget);
                if (leases.Count == 0 && now < deadline)
                {
                    waiter = new LeaseWaiter(worker, max, _nextWaiterSeq++) { TokenBudget = Fastest ? tokenBudget : null };
                    Park(waiter);
                }
                commit = Flush();
                sleep = deadline - now;
                if (Max(worker.CooldownUntil, worker.BudgetReadyAt) is { } until && until > now && until - now < sleep)
                {
                    sleep = until - now;
                }
                // No recheck of its own: the engine's recheck pass (SchedulingEngine.Recheck.cs) offers held tasks and
                // copies of stragglers to the parked polls, best first, without waking the others.
            }
            if (waiter is null)
            {
                await commit.ConfigureAwait(false);
                return leases;
            }

            try
            {
                await waiter.Woken.Task.WaitAsync(sleep, _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Wait (or cooldown) over: look again below.
            }
            catch (OperationCanceledException)
            {
                // The caller went away: whatever was handed to it goes straight back to the queue.
                lock (_gate)
                {
                    _parked.Remove(waiter);
                    foreach (var lease in waiter.Leases)
                    {
                        if (_tasks.TryGet(lease.TaskId, out var copied) && IsCopyLease(copied, workerId, lease.LeaseId))
                        {
                            DropCopy(copied, tellHolder: false);
                        }
                        else if (_tasks.TryGet(lease.TaskId, out var task) && task.LeaseId == lease.LeaseId)
                        {
                            task.Attempts--;
                            Requeue(task, Now, TimeSpan.Zero);
                        }
                    }
                    _ = Flush();
                }
                throw;
            }

            lock (_gate)
            {
                _parked.Remove(waiter);
                leases = waiter.Leases;
                commit = waiter.Commit;
            }
            if (leases.Count > 0)
            {
                await commit.ConfigureAwait(false);
                return leases;
            }
            if (Now >= deadline)
            {
                return leases;
            }
        }
    }

    /// <summary>Records a result. Idempotent on the lease id; a stale lease is refused (conflict).</summary>
    public Task<TaskView> CompleteAsync(string taskId, string workerId, CompleteTaskRequest request) =>
        ReportAsync(taskId, workerId, request.LeaseId, RepeatedCompletion, (task, worker, now) =>
        {
            if (IsCopyLease(task, workerId, request.LeaseId))
            {
                // The copy finished first: the original run loses its lease.
                PromoteCopy(task, now, tellLoser: true, copyWon: true);
            }
            LearnSpeed(task, worker, request, now);
            task.Result = new TaskResult
            {
                Content = request.Content,
                FinishReason = request.FinishReason,
                Model = request.Model ?? task.Model,
                Provider = worker.Provider,
                WorkerId = worker.Id,
                WorkerName = worker.Name,
                Usage = request.Usage,
                TimeToFirstTokenMs = request.TimeToFirstTokenMs,
                DurationMs = request.DurationMs,
                TokensPerSecond = request.TokensPerSecond,
            };
            worker.TasksSucceeded++;
            _changes.Worker(worker);
            if (TokenTotals.Of(request.Usage) is > 0 and var tokens)
            {
                _tokensReported += tokens;
                _changes.TokensReported(_tokensReported);
            }
            _telemetry.TokensReported(request.Usage, worker.Provider);
            Finish(task, TaskState.Succeeded, now, null);
        });

    private static TaskView? RepeatedCompletion(TaskRecord task, string workerId, string leaseId)
    {
        if (task.State == TaskState.Succeeded && task.FinalLeaseId == leaseId && task.LeasedBy == workerId)
        {
            return TaskViews.Of(task);
        }
        if (task.State == TaskState.Cancelled && task.FinalLeaseId == leaseId)
        {
            throw EngineException.Conflict($"Task '{task.Id}' was cancelled; its result is discarded.");
        }
        return null;
    }

    /// <summary>Records a failed attempt and applies the <see cref="FailurePolicy"/>: retry, another worker, or failure.</summary>
    public Task<TaskView> FailAsync(string taskId, string workerId, FailTaskRequest request) =>
        ReportAsync(taskId, workerId, request.LeaseId, RepeatedFailure, (task, worker, now) =>
        {
            if (FailedWhileCopied(task, worker, request, now))
            {
                return;
            }
            var message = request.Message.Length > 4000 ? request.Message[..4000] : request.Message;
            var decision = FailurePolicy.AfterStreamedContent(FailurePolicy.Decide(request.Kind, task.Attempts, task.MaxAttempts,
                message, request.RetryAfterSeconds, _options.DefaultRetryAfter, _random), task.ContentRelayed, message);
            Apply(task, worker, decision, new TaskAttemptError(task.Attempts, request.Kind, message, workerId, now), now);
        });

    /// <summary>
    /// A failure of one of two runs of a task: the other carries on as the task's lease and the failure costs no
    /// attempt (a rate-limited worker still cools down). True when handled here.
    /// </summary>
    private bool FailedWhileCopied(TaskRecord task, WorkerRecord worker, FailTaskRequest request, DateTimeOffset now)
    {
        if (task.SpecLeaseId is null)
        {
            return false;
        }
        if (IsCopyLease(task, worker.Id, request.LeaseId))
        {
            DropCopy(task, tellHolder: false);
        }
        else
        {
            PromoteCopy(task, now, tellLoser: false, copyWon: false);
        }
        if (request.Kind == FailureKind.RateLimited)
        {
            worker.CooldownUntil = now + (request.RetryAfterSeconds is > 0 and var s ? TimeSpan.FromSeconds(s) : _options.DefaultRetryAfter);
            _changes.Worker(worker);
        }
        return true;
    }

    /// <summary>A repeated report, or a cancelled task's worker confirming it stopped.</summary>
    private static TaskView? RepeatedFailure(TaskRecord task, string workerId, string leaseId) =>
        task.State.IsTerminal() && task.FinalLeaseId == leaseId && task.LeasedBy == workerId ? TaskViews.Of(task) : null;

    /// <summary>
    /// The one path of a worker's report on its lease: a repeated report gets its first answer, a stale lease is
    /// refused, otherwise <paramref name="record"/> applies it under the lock and the answer waits for its commit.
    /// </summary>
    private async Task<TaskView> ReportAsync(string taskId, string workerId, string leaseId,
        Func<TaskRecord, string, string, TaskView?> repeated, Action<TaskRecord, WorkerRecord, DateTimeOffset> record)
    {
        TaskView? view = null;
        var commit = Task.CompletedTask;
        lock (_gate)
        {
            if (_tasks.TryGet(taskId, out var task))
            {
                var worker = RequireWorker(workerId);
                if (repeated(task, workerId, leaseId) is { } answer)
                {
                    return answer;
                }
                if (!IsCopyLease(task, workerId, leaseId))
                {
                    RequireCurrentLease(task, workerId, leaseId);
                }
                record(task, worker, Now);
                view = TaskViews.Of(task);
                commit = Flush();
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
        var task = ReadStored(taskId) ?? throw EngineException.NotFound("Task", taskId);
        lock (_gate)
        {
            RequireWorker(workerId);
        }
        if (repeated(task, workerId, leaseId) is { } answer)
        {
            return answer;
        }
        RequireCurrentLease(task, workerId, leaseId);
        return TaskViews.Of(task);
    }

    private static void RequireCurrentLease(TaskRecord task, string workerId, string leaseId)
    {
        if (task.State != TaskState.Leased || !string.Equals(task.LeaseId, leaseId, StringComparison.Ordinal))
        {
            throw EngineException.Conflict(
                $"Lease '{leaseId}' is not the current lease of task '{task.Id}' (it expired, was taken back, or the task " +
                $"is {WireNames.Of(task.State)}); the report is refused so the task keeps exactly one result.");
        }
        if (!string.Equals(task.LeasedBy, workerId, StringComparison.Ordinal))
        {
            throw EngineException.Forbidden($"Lease '{leaseId}' belongs to another worker.");
        }
    }
}
