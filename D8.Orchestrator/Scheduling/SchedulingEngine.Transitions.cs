using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// State transitions and the queues they move tasks between. Everything here runs under the lock; these are the
/// only methods that change a task's state (through <see cref="TaskIndex.SetState"/>).
/// </summary>
public sealed partial class SchedulingEngine
{
    private TaskRecord NewTask(SubmitTaskRequest r, DateTimeOffset now, string? traceParent, string? traceState)
    {
        var messages = r.Messages is { Count: > 0 } m
            ? m.ToArray()
            : r.System is { } system
                ? [new ChatMessage("system", system), new ChatMessage("user", r.Prompt!)]
                : new[] { new ChatMessage("user", r.Prompt!) };
        return new TaskRecord
        {
            Id = WorkerTokens.NewId(),
            Seq = _nextSeq++,
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
            MaxAttempts = _options.MaxAttempts,
            TraceParent = traceParent,
            TraceState = traceState,
        };
    }

    /// <summary>Applies a <see cref="FailurePolicy"/> decision to a task and the worker whose attempt failed.</summary>
    private void Apply(TaskRecord task, WorkerRecord? worker, FailureDecision decision, TaskAttemptError error, DateTimeOffset now)
    {
        if (decision.RecordError)
        {
            task.Errors.Add(error);
        }
        if (worker is not null && (decision.CountsAgainstWorker || decision.Cooldown is not null))
        {
            if (decision.CountsAgainstWorker) worker.TasksFailed++;
            if (decision.Cooldown is { } cooldown) worker.CooldownUntil = now + cooldown;
            _changes.Worker(worker);
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

    private bool CanLeaseNow(WorkerRecord worker, DateTimeOffset now) =>
        worker.State == WorkerState.Online
        && worker.Healthy
        && !worker.Drain
        && (worker.CooldownUntil is not { } until || until <= now)
        && (worker.BudgetReadyAt is not { } budget || budget <= now)
        && worker.Leases.Count < worker.MaxConcurrency;

    /// <summary>
    /// Leases up to <paramref name="max"/> of the best ready tasks this worker can serve. The fastest scheduler may
    /// decline (the faster workers would finish the task sooner) or, when nothing is ready for this worker, hand it a
    /// copy of a straggler.
    /// </summary>
    private void TakeEligible(WorkerRecord worker, int max, DateTimeOffset now, List<TaskLease> leases, int? tokenBudget = null)
    {
        var budget = Fastest ? tokenBudget : null;
        var eligible = EligibleQueues(worker);
        if (eligible is null)
        {
            if (Fastest && CanLeaseNow(worker, now) && leases.Count < max) TrySpeculate(worker, now, leases);
            return;
        }
        while (leases.Count < max && CanLeaseNow(worker, now))
        {
            RoutingQueue? best = null;
            TaskRecord? head = null;
            foreach (var q in eligible)
            {
                if (q.Ready.Count == 0) continue;
                var candidate = q.Ready.Min!;
                if (head is null || PriorityOrder.Instance.Compare(candidate, head) < 0)
                {
                    head = candidate;
                    best = q;
                }
            }
            if (head is null)
            {
                if (Fastest) TrySpeculate(worker, now, leases);
                return;
            }
            if (head.Deadline <= now)
            {
                best!.Ready.Remove(head);
                head.InReadySet = false;
                Finish(head, TaskState.Failed, now, "deadline passed");
                continue;
            }
            if (Fastest && Choose(worker, eligible, head, now, budget) is var chosen && !ReferenceEquals(chosen, head))
            {
                if (chosen is null)
                {
                    Hold(head, worker, now);
                    return; // better left to faster workers (or nothing fits the token budget): the poll parks
                }
                head = chosen;
            }
            head.Queue!.Ready.Remove(head);
            head.InReadySet = false;
            budget -= WorkEstimate.TotalTokens(head);
            Grant(head, worker, now, leases);
        }
    }

    private void Grant(TaskRecord task, WorkerRecord worker, DateTimeOffset now, List<TaskLease> leases)
    {
        task.Attempts++;
        task.LeaseId = WorkerTokens.NewId();
        task.LeasedBy = worker.Id;
        task.LeasedAt = now;
        task.LeaseExpiresAt = now + _options.LeaseDuration;
        task.UpdatedAt = now;
        task.NotBefore = null;
        task.Reason = null;
        _tasks.SetState(task, TaskState.Leased);
        worker.Leases.Add(task.Id);
        _telemetry.Dispatched(now - task.ReadyAt);
        _changes.Task(task);
        leases.Add(TaskViews.LeaseOf(task));
    }

    /// <summary>A queued task may be leased now: hand it straight to a waiting long-poll, or put it in its queue.</summary>
    private void MakeReady(TaskRecord task, DateTimeOffset now)
    {
        if (task.Deadline <= now)
        {
            Finish(task, TaskState.Failed, now, "deadline passed");
            return;
        }
        task.NotBefore = null;
        task.ReadyAt = now;
        if (PlaceOnParked(task, now))
        {
            return;
        }
        task.Queue!.Ready.Add(task);
        task.InReadySet = true;
        if (Fastest && _parked.Count > 0) ArmRecheck();
    }

    private void PromoteDue(DateTimeOffset now)
    {
        while (_delayed.Count > 0 && _delayed.Min!.NotBefore <= now)
        {
            var task = _delayed.Min;
            _delayed.Remove(task);
            task.Queue!.Delayed--;
            MakeReady(task, now);
        }
    }

    /// <summary>Takes a task off its queue (ready set or backoff schedule) if it is on one.</summary>
    private void Dequeue(TaskRecord task)
    {
        if (task.InReadySet)
        {
            task.Queue!.Ready.Remove(task);
            task.InReadySet = false;
        }
        else if (task.State == TaskState.Queued && task.NotBefore is not null && _delayed.Remove(task))
        {
            task.Queue!.Delayed--;
        }
    }

    private void ReleaseLease(TaskRecord task)
    {
        if (task.State == TaskState.Leased && task.LeasedBy is { } wid && _workers.TryGetValue(wid, out var worker))
        {
            var wasFull = worker.Leases.Count >= worker.MaxConcurrency;
            worker.Leases.Remove(task.Id);
            if (wasFull)
            {
                WakeWaitersOf(worker);
            }
        }
        task.LeaseId = null;
        task.LeaseExpiresAt = null;
    }

    private void Requeue(TaskRecord task, DateTimeOffset now, TimeSpan delay)
    {
        DropCopy(task, tellHolder: true);
        ReleaseLease(task);
        task.LeasedBy = null;
        task.LeasedAt = null;
        _tasks.SetState(task, TaskState.Queued);
        task.UpdatedAt = now;
        _changes.Task(task);
        if (delay > TimeSpan.Zero)
        {
            task.NotBefore = now + delay;
            _delayed.Add(task);
            task.Queue!.Delayed++;
        }
        else
        {
            MakeReady(task, now);
        }
    }

    private void Finish(TaskRecord task, TaskState state, DateTimeOffset now, string? reason)
    {
        TimeSpan? runTime = task.State == TaskState.Leased && task.LeasedAt is { } at ? now - at : null;
        if (task.State == TaskState.Queued)
        {
            Dequeue(task);
        }
        if (task.State == TaskState.Leased)
        {
            task.FinalLeaseId = task.LeaseId;
        }
        DropCopy(task, tellHolder: true);
        ReleaseLease(task);
        task.NotBefore = null;
        _tasks.SetState(task, state);
        task.Queue!.LiveTasks--;
        task.UpdatedAt = now;
        task.Reason = reason;
        _telemetry.Finished(state, runTime, task.Attempts);
        _changes.Task(task);
        _changes.Finished(task);
        if (_terminalWaiters.TryGetValue(task.Id, out var waiters))
        {
            _changes.Signal(waiters);
        }
        if (task.Stream)
        {
            StreamEnded?.Invoke(task.Id);
        }
    }

    private void WakeWaitersOf(WorkerRecord worker)
    {
        foreach (var waiter in worker.Parked) _changes.Wake(waiter);
    }

    private RoutingQueue QueueFor(string kind, string? provider, string? model)
    {
        var key = RoutingQueue.KeyOf(kind, provider, model);
        if (!_queues.TryGetValue(key, out var queue))
        {
            queue = new RoutingQueue(kind, provider, model);
            queue.Unroutable = !CanAnyWorkerServe(queue);
            _queues.Add(key, queue);
        }
        return queue;
    }

    private bool CanAnyWorkerServe(RoutingQueue q)
    {
        foreach (var w in _workers.Values)
        {
            if (w.State != WorkerState.Gone && w.CanServe(q.Kind, q.Provider, q.Model)) return true;
        }
        return false;
    }

    private void RecomputeRoutability()
    {
        foreach (var q in _queues.Values)
        {
            q.Unroutable = !CanAnyWorkerServe(q);
        }
    }
}
