using D8.Contracts;
using D8.Orchestrator.Streaming;

namespace D8.Orchestrator.Scheduling;

/// <summary>A worker's reports on its lease — complete, fail, a relayed piece of a streamed answer — applied to the task.</summary>
internal sealed partial class TaskLifecycle
{
    /// <summary>Leased → succeeded. A copy that finished first takes the lease over; the speed model learns from the run.</summary>
    public void Complete(TaskRecord task, WorkerRecord worker, CompleteTaskRequest request, DateTimeOffset now)
    {
        if (LeaseBook.IsCopy(task, worker.Id, request.LeaseId))
        {
            // The copy finished first: the original run loses its lease.
            _s.Leases.PromoteCopy(task, now, tellLoser: true, copyWon: true);
        }
        _s.Speeds.Learn(task, worker, request, now);
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
        _s.Changes.Worker(worker);
        if (TokenTotals.Of(request.Usage) is > 0 and var tokens)
        {
            _s.TokensReported += tokens;
            _s.Changes.TokensReported(_s.TokensReported);
        }
        _s.Telemetry.TokensReported(request.Usage, worker.Provider);
        Finish(task, TaskState.Succeeded, now, null);
    }

    /// <summary>A failed attempt: the <see cref="FailurePolicy"/> decides between retry, another worker, and failure.</summary>
    public void Fail(TaskRecord task, WorkerRecord worker, FailTaskRequest request, DateTimeOffset now)
    {
        if (FailedWhileCopied(task, worker, request, now))
        {
            return;
        }
        var message = request.Message.Length > 4000 ? request.Message[..4000] : request.Message;
        var decision = FailurePolicy.AfterStreamedContent(FailurePolicy.Decide(request.Kind, task.Attempts, task.MaxAttempts,
            message, request.RetryAfterSeconds, _s.Options.DefaultRetryAfter, _s.Random), task.ContentRelayed, message);
        Apply(task, worker, decision, new TaskAttemptError(task.Attempts, request.Kind, message, worker.Id, now), now);
    }

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
        if (LeaseBook.IsCopy(task, worker.Id, request.LeaseId))
        {
            _s.Leases.DropCopy(task, tellHolder: false);
        }
        else
        {
            _s.Leases.PromoteCopy(task, now, tellLoser: false, copyWon: false);
        }
        if (request.Kind == FailureKind.RateLimited)
        {
            worker.CooldownUntil = now + (request.RetryAfterSeconds is > 0 and var s ? TimeSpan.FromSeconds(s) : _s.Options.DefaultRetryAfter);
            _s.Changes.Worker(worker);
        }
        return true;
    }

    /// <summary>The first answer to a repeated completion report, a conflict for a cancelled task, else null.</summary>
    public static TaskView? RepeatedCompletion(TaskRecord task, string workerId, string leaseId)
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

    /// <summary>A repeated failure report, or a cancelled task's worker confirming it stopped.</summary>
    public static TaskView? RepeatedFailure(TaskRecord task, string workerId, string leaseId) =>
        task.State.IsTerminal() && task.FinalLeaseId == leaseId && task.LeasedBy == workerId ? TaskViews.Of(task) : null;

    /// <summary>
    /// A piece of a streamed task's answer, accepted only from the task's current lease and at the offset that lease
    /// reached, then published to <paramref name="hub"/> (under the lock: a piece never lands after the task ended or
    /// a retry began). The first piece marks the task <see cref="TaskRecord.ContentRelayed"/>: from then on a failed
    /// attempt fails the task (no retry).
    /// </summary>
    public void Relay(TaskRecord task, string workerId, RelayRequest request, TaskStreamHub hub)
    {
        RequireStreamed(task);
        LeaseBook.RequireCurrent(task, workerId, request.LeaseId);
        if (request.Offset != task.RelayedChars)
        {
            throw EngineException.Conflict(
                $"Relay piece at offset {request.Offset} for task '{task.Id}', but its lease relayed {task.RelayedChars} characters so far; " +
                "the relay stops here (the completion report carries the whole answer).");
        }
        task.RelayedChars += request.Text.Length;
        if (!task.ContentRelayed)
        {
            task.ContentRelayed = true;
            _s.Changes.Task(task);
        }
        hub.Publish(task.Id, request.Text);
    }

    /// <summary>Refuses relayed text for a task that was not submitted streamed.</summary>
    public static void RequireStreamed(TaskRecord task)
    {
        if (!task.Stream)
        {
            throw EngineException.Conflict($"Task '{task.Id}' was not submitted with stream: true; nobody reads relayed text for it.");
        }
    }
}
