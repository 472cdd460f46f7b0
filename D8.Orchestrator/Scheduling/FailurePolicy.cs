using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>What happens to a task after a failed attempt.</summary>
public enum FailureOutcome
{
    /// <summary>Back in the queue (after <see cref="FailureDecision.Delay"/>).</summary>
    Requeue,
    Fail,
    Cancel,
}

/// <summary>The decision for one failed attempt; the engine applies it.</summary>
/// <param name="GiveAttemptBack">The attempt does not count (rate limited, released).</param>
/// <param name="RecordError">The attempt's error goes into the task's <c>errors</c>.</param>
/// <param name="CountsAgainstWorker">The worker's <c>tasks_failed</c> counter goes up.</param>
/// <param name="Cooldown">The worker gets no leases for this long (rate limited).</param>
/// <param name="Reason">Why the task failed or was cancelled.</param>
public readonly record struct FailureDecision(
    FailureOutcome Outcome,
    bool GiveAttemptBack,
    bool RecordError,
    bool CountsAgainstWorker,
    TimeSpan Delay,
    TimeSpan? Cooldown,
    string? Reason);

/// <summary>
/// The failure rules of docs/api.md "Task states and rules" as one pure function: no clock, no store, no lock.
/// </summary>
public static class FailurePolicy
{
    /// <param name="attempts">Counted attempts including the one that failed.</param>
    public static FailureDecision Decide(FailureKind kind, int attempts, int maxAttempts, string message,
        double? retryAfterSeconds, TimeSpan defaultRetryAfter, Random random) => kind switch
    {
        FailureKind.RateLimited => new(FailureOutcome.Requeue, GiveAttemptBack: true, RecordError: true,
            CountsAgainstWorker: false, TimeSpan.Zero,
            retryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : defaultRetryAfter, null),
        FailureKind.Released => new(FailureOutcome.Requeue, true, false, false, TimeSpan.Zero, null, null),
        FailureKind.Cancelled => new(FailureOutcome.Cancel, false, false, false, TimeSpan.Zero, null,
            "cancelled by worker: " + message),
        FailureKind.Permanent => new(FailureOutcome.Fail, false, true, true, TimeSpan.Zero, null, message),
        _ => RetryOrFail(attempts, maxAttempts, message, random, recordError: true),
    };

    /// <summary>A lease taken back through no fault of the run (its worker left, or is gone after a restart): back in
    /// the queue without counting the attempt.</summary>
    public static FailureDecision TakenBack { get; } = new(FailureOutcome.Requeue, true, false, false, TimeSpan.Zero, null, null);

    /// <summary>
    /// A streamed task whose text already went out (<paramref name="contentRelayed"/>) cannot start over: a retry would
    /// stream a second, different answer after the first one's beginning. Any decision to requeue becomes a failure
    /// saying so (the worker's cooldown still applies); cancel and fail stand.
    /// </summary>
    public static FailureDecision AfterStreamedContent(FailureDecision decision, bool contentRelayed, string message) =>
        contentRelayed && decision.Outcome == FailureOutcome.Requeue
            ? decision with
            {
                Outcome = FailureOutcome.Fail,
                GiveAttemptBack = false,
                RecordError = true,
                Delay = TimeSpan.Zero,
                Reason = StreamedReason + message,
            }
            : decision;

    /// <summary>How the reason of a task failed by <see cref="AfterStreamedContent"/> begins.</summary>
    public const string StreamedReason = "not retried: content had already been streamed to the caller when the attempt failed: ";

    /// <summary>A counted failure (transient, or a lease that expired): retry after a backoff until attempts run out.</summary>
    public static FailureDecision RetryOrFail(int attempts, int maxAttempts, string message, Random random, bool recordError) =>
        attempts >= maxAttempts
            ? new(FailureOutcome.Fail, false, recordError, true, TimeSpan.Zero, null,
                $"failed after {attempts} attempts: {message}")
            : new(FailureOutcome.Requeue, false, recordError, true, Backoff.Delay(attempts, random), null, null);
}
