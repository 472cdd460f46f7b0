using D8.Contracts;
using D8.Orchestrator.Streaming;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The streaming relay's engine side: a worker's piece of a streamed task's answer is accepted only from the task's
/// current lease and at the offset that lease reached, then handed to <see cref="TaskStreamHub"/> under the lock, so a
/// piece never lands after the task ended or after a retry began. The first piece marks the task
/// <see cref="TaskRecord.ContentRelayed"/>: from then on a failed attempt fails the task (no retry).
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>Raised under the lock when a streamed task reaches a terminal state (the hub completes its readers).</summary>
    public event Action<string>? StreamEnded;

    /// <summary>
    /// Accepts <paramref name="request"/> for <paramref name="taskId"/> from <paramref name="workerId"/> and publishes it
    /// to <paramref name="hub"/>. Refuses (404, 403, 409) an unknown task, another worker's lease, a stale or copy lease,
    /// a task that does not stream, and a piece at the wrong offset.
    /// </summary>
    public void Relay(string taskId, string workerId, RelayRequest request, TaskStreamHub hub)
    {
        lock (_gate)
        {
            if (_tasks.TryGet(taskId, out var task))
            {
                RequireWorker(workerId);
                RequireStreamed(task);
                RequireCurrentLease(task, workerId, request.LeaseId);
                if (request.Offset != task.RelayedChars)
                {
                    throw EngineException.Conflict(
                        $"Relay piece at offset {request.Offset} for task '{taskId}', but its lease relayed {task.RelayedChars} characters so far; " +
                        "the relay stops here (the completion report carries the whole answer).");
                }
                task.RelayedChars += request.Text.Length;
                if (!task.ContentRelayed)
                {
                    task.ContentRelayed = true;
                    _changes.Task(task);
                }
                hub.Publish(taskId, request.Text);
                _ = Flush();
                return;
            }
        }
        // Not in memory: finished (the store has it) or unknown.
        var stored = ReadStored(taskId) ?? throw EngineException.NotFound("Task", taskId);
        RequireStreamed(stored);
        throw EngineException.Conflict($"Task '{taskId}' is {WireNames.Of(stored.State)}; relayed text is no longer taken.");
    }

    private static void RequireStreamed(TaskRecord task)
    {
        if (!task.Stream)
        {
            throw EngineException.Conflict($"Task '{task.Id}' was not submitted with stream: true; nobody reads relayed text for it.");
        }
    }

    /// <summary>
    /// A lease taken back through no fault of its run: requeued without counting the attempt, unless its streamed text
    /// already went out; then the task fails (<see cref="FailurePolicy.AfterStreamedContent"/>).
    /// </summary>
    private void TakeBack(TaskRecord task, DateTimeOffset now, string why)
    {
        var decision = FailurePolicy.AfterStreamedContent(FailurePolicy.TakenBack, task.ContentRelayed, why);
        Apply(task, null, decision, new TaskAttemptError(task.Attempts, FailureKind.Released, why, task.LeasedBy, now), now);
    }
}
