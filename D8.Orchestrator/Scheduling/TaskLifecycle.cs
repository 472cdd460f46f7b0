using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// A task's state machine: submitted → queued (ready, or in backoff) → leased → succeeded, failed or cancelled, and
/// back to queued when an attempt fails (<see cref="FailurePolicy"/> decides) or its lease is taken back. The only code
/// that changes a task's state (through <see cref="TaskIndex.SetState"/>): the engine, the placement strategy and the
/// fleet call these methods, under the engine's lock. Where a ready task goes is the <see cref="Placement"/>'s call.
/// </summary>
internal sealed partial class TaskLifecycle
{
    private readonly EngineState _s;
    private readonly ILogger _logger;

    /// <param name="placement">Builds the placement strategy over this lifecycle (the strategy leases and fails tasks through it).</param>
    public TaskLifecycle(EngineState state, ILogger logger, Func<TaskLifecycle, IPlacementStrategy> placement)
    {
        _s = state;
        _logger = logger;
        Placement = placement(this);
    }

    /// <summary>Decides which ready task a worker gets and where a task that becomes ready goes.</summary>
    public IPlacementStrategy Placement { get; }

    /// <summary>Raised under the lock when a streamed task reaches a terminal state (the hub completes its readers).</summary>
    public event Action<string>? StreamEnded;

    /// <summary>A validated submission becomes a live, queued task (ready at once, or handed straight to a parked poll).</summary>
    public TaskRecord Submit(SubmitTaskRequest r, DateTimeOffset now, string? traceParent, string? traceState)
    {
        var messages = r.Messages is { Count: > 0 } m
            ? m.ToArray()
            : r.System is { } system
                ? [new ChatMessage("system", system), new ChatMessage("user", r.Prompt!)]
                : new[] { new ChatMessage("user", r.Prompt!) };
        var task = new TaskRecord
        {
            Id = WorkerTokens.NewId(),
            Seq = _s.NextSeq++,
            State = TaskState.Queued,
            Kind = string.IsNullOrWhiteSpace(r.Kind) ? "chat" : r.Kind,
            Messages = messages,
            Model = r.Model,
            Provider = r.Provider?.ToLowerInvariant(),
            Temperature = r.Temperature,
            MaxTokens = r.MaxTokens,
            JsonMode = r.JsonMode,
            TopP = r.TopP,
            Stop = r.Stop,
            Seed = r.Seed,
            Stream = r.Stream,
            Priority = r.Priority ?? 5,
            Deadline = r.Deadline,
            IdempotencyKey = r.IdempotencyKey,
            Labels = r.Labels,
            CreatedAt = now,
            UpdatedAt = now,
            ReadyAt = now,
            MaxAttempts = _s.Options.MaxAttempts,
            TraceParent = traceParent,
            TraceState = traceState,
        };
        _s.Tasks.Add(task);
        if (task.IdempotencyKey is { } k)
        {
            _s.Idempotency.Add(k, task.Id, now);
        }
        _s.Queues.Join(task);
        _s.Changes.Task(task);
        MakeReady(task, now);
        return task;
    }

    /// <summary>Queued → leased: <paramref name="worker"/> gets the task; its lease is added to <paramref name="leases"/>.</summary>
    public void Lease(TaskRecord task, WorkerRecord worker, DateTimeOffset now, List<TaskLease> leases)
    {
        _s.Queues.Take(task);
        _s.Tasks.SetState(task, TaskState.Leased);
        leases.Add(_s.Leases.Grant(task, worker, now));
    }

    /// <summary>Leases the task to a parked poll and wakes it (taken out once it has all it asked for).</summary>
    public void LeaseTo(LeaseWaiter waiter, TaskRecord task, DateTimeOffset now)
    {
        Lease(task, waiter.Worker, now, waiter.Leases);
        _s.Changes.Wake(waiter);
        if (waiter.Leases.Count >= waiter.Max) _s.Parked.Remove(waiter);
    }

    /// <summary>A queued task may be leased now: the placement hands it to a parked poll or queues it.</summary>
    public void MakeReady(TaskRecord task, DateTimeOffset now)
    {
        if (task.Deadline <= now)
        {
            Finish(task, TaskState.Failed, now, "deadline passed");
            return;
        }
        task.NotBefore = null;
        task.ReadyAt = now;
        Placement.Offer(task, now);
    }

    /// <summary>Tasks whose retry backoff is over become ready.</summary>
    public void PromoteDue(DateTimeOffset now)
    {
        while (_s.Queues.TryTakeDue(now, out var task))
        {
            MakeReady(task, now);
        }
    }

    /// <summary>Applies a <see cref="FailurePolicy"/> decision to a task and the worker whose attempt failed.</summary>
    public void Apply(TaskRecord task, WorkerRecord? worker, FailureDecision decision, TaskAttemptError error, DateTimeOffset now)
    {
        if (decision.RecordError)
        {
            task.Errors.Add(error);
        }
        if (worker is not null && (decision.CountsAgainstWorker || decision.Cooldown is not null))
        {
            if (decision.CountsAgainstWorker) worker.TasksFailed++;
            if (decision.Cooldown is { } cooldown) worker.CooldownUntil = now + cooldown;
            _s.Changes.Worker(worker);
        }
        if (decision.GiveAttemptBack)
        {
            task.Attempts--;
        }
        switch (decision.Outcome)
        {
            case FailureOutcome.Requeue:
                Requeue(task, now, decision.Delay);
                break;
            case FailureOutcome.Cancel:
                Finish(task, TaskState.Cancelled, now, decision.Reason);
                break;
            default:
                Finish(task, TaskState.Failed, now, decision.Reason);
                break;
        }
    }

    /// <summary>Leased → queued: the lease ends; the task is ready again now, or after <paramref name="delay"/>.</summary>
    public void Requeue(TaskRecord task, DateTimeOffset now, TimeSpan delay)
    {
        _s.Leases.DropCopy(task, tellHolder: true);
        _s.Leases.Release(task);
        task.LeasedBy = null;
        task.LeasedAt = null;
        _s.Tasks.SetState(task, TaskState.Queued);
        task.UpdatedAt = now;
        _s.Changes.Task(task);
        if (delay > TimeSpan.Zero)
        {
            _s.Queues.Delay(task, now + delay);
        }
        else
        {
            MakeReady(task, now);
        }
    }

    /// <summary>Queued or leased → terminal: off its queue, its lease (and copy) ended, waiters and stream readers told.</summary>
    public void Finish(TaskRecord task, TaskState state, DateTimeOffset now, string? reason)
    {
        TimeSpan? runTime = task.State == TaskState.Leased && task.LeasedAt is { } at ? now - at : null;
        _s.Queues.Leave(task);
        if (task.State == TaskState.Leased)
        {
            task.FinalLeaseId = task.LeaseId;
        }
        _s.Leases.DropCopy(task, tellHolder: true);
        _s.Leases.Release(task);
        task.NotBefore = null;
        _s.Tasks.SetState(task, state);
        task.UpdatedAt = now;
        task.Reason = reason;
        _s.Telemetry.Finished(state, runTime, task.Attempts);
        _s.Changes.Task(task);
        _s.Changes.Finished(task);
        if (_s.TerminalWaiters.Of(task.Id) is { } waiters)
        {
            _s.Changes.Signal(waiters);
        }
        if (task.Stream)
        {
            StreamEnded?.Invoke(task.Id);
        }
    }

    /// <summary>
    /// A lease taken back through no fault of its run: requeued without counting the attempt, unless its streamed text
    /// already went out; then the task fails (<see cref="FailurePolicy.AfterStreamedContent"/>).
    /// </summary>
    public void TakeBack(TaskRecord task, DateTimeOffset now, string why)
    {
        var decision = FailurePolicy.AfterStreamedContent(FailurePolicy.TakenBack, task.ContentRelayed, why);
        Apply(task, null, decision, new TaskAttemptError(task.Attempts, FailureKind.Released, why, task.LeasedBy, now), now);
    }

    /// <summary>A client cancels: a leased task's worker hears of it in its next heartbeat.</summary>
    public void Cancel(TaskRecord task, DateTimeOffset now, string reason)
    {
        if (task.State == TaskState.Leased && task.LeasedBy is { } wid && _s.Workers.TryGet(wid, out var worker))
        {
            worker.PendingCancels.Add(task.Id);
        }
        if (!task.State.IsTerminal())
        {
            Finish(task, TaskState.Cancelled, now, reason);
        }
    }

    /// <summary>Queued tasks past their deadline fail (the sweep).</summary>
    public void FailLate(DateTimeOffset now)
    {
        List<TaskRecord>? late = null;
        foreach (var task in _s.Tasks.InState(TaskState.Queued))
        {
            if (task.Deadline <= now) (late ??= []).Add(task);
        }
        foreach (var task in late ?? [])
        {
            Finish(task, TaskState.Failed, now, "deadline passed");
        }
    }

    /// <summary>Expired leases go back (attempt counted, <see cref="FailurePolicy.RetryOrFail"/>); a running copy carries on instead.</summary>
    public void ExpireLeases(DateTimeOffset now)
    {
        foreach (var task in _s.Leases.Expired(now) ?? [])
        {
            var workerId = task.LeasedBy!;
            _s.Workers.TryGet(workerId, out var worker);
            if (task.SpecLeaseId is not null)
            {
                // A copy still runs: it carries on as the task's lease.
                _s.Leases.PromoteCopy(task, now, tellLoser: true, copyWon: false);
                continue;
            }
            LeaseBook.Lost(worker, task.LeaseId!);
            var message = $"lease expired: no heartbeat from worker '{workerId}' for {_s.Options.LeaseDuration.TotalSeconds:0} s";
            var error = new TaskAttemptError(task.Attempts, FailureKind.Transient, message, workerId, now);
            LogLeaseExpired(task.Id, workerId, task.Attempts);
            Apply(task, worker, FailurePolicy.AfterStreamedContent(
                FailurePolicy.RetryOrFail(task.Attempts, task.MaxAttempts, message, _s.Random, recordError: true), task.ContentRelayed, message), error, now);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of task {TaskId} held by worker {WorkerId} expired (attempt {Attempt})")]
    private partial void LogLeaseExpired(string taskId, string workerId, int attempt);
}
