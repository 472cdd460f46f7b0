using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Tests.Orchestrator;

/// <summary>The failure rules as a pure function: no engine, no SQLite, no clock.</summary>
[Trait("Category", "Unit")]
public class FailurePolicyTests
{
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    private static FailureDecision Decide(FailureKind kind, int attempts = 1, int max = 3, double? retryAfter = null) =>
        FailurePolicy.Decide(kind, attempts, max, "boom", retryAfter, DefaultRetryAfter, new Random(1));

    [Fact]
    public void Rate_limited_requeues_at_once_gives_the_attempt_back_and_cools_the_worker_down()
    {
        var d = Decide(FailureKind.RateLimited, retryAfter: 20);
        Assert.Equal(FailureOutcome.Requeue, d.Outcome);
        Assert.True(d.GiveAttemptBack);
        Assert.True(d.RecordError);
        Assert.False(d.CountsAgainstWorker);
        Assert.Equal(TimeSpan.Zero, d.Delay);
        Assert.Equal(TimeSpan.FromSeconds(20), d.Cooldown);
        Assert.Equal(DefaultRetryAfter, Decide(FailureKind.RateLimited).Cooldown);
    }

    [Fact]
    public void Released_requeues_at_once_without_an_error_or_an_attempt()
    {
        var d = Decide(FailureKind.Released);
        Assert.Equal(new FailureDecision(FailureOutcome.Requeue, true, false, false, TimeSpan.Zero, null, null), d);
    }

    [Fact]
    public void Transient_retries_with_backoff_until_attempts_run_out()
    {
        var first = Decide(FailureKind.Transient, attempts: 1);
        Assert.Equal(FailureOutcome.Requeue, first.Outcome);
        Assert.InRange(first.Delay, TimeSpan.FromSeconds(1.6), TimeSpan.FromSeconds(2.4));
        Assert.True(first.CountsAgainstWorker);
        Assert.False(first.GiveAttemptBack);

        var last = Decide(FailureKind.Transient, attempts: 3, max: 3);
        Assert.Equal(FailureOutcome.Fail, last.Outcome);
        Assert.Equal("failed after 3 attempts: boom", last.Reason);
    }

    [Fact]
    public void Permanent_fails_at_once_and_cancelled_cancels()
    {
        var permanent = Decide(FailureKind.Permanent);
        Assert.Equal(FailureOutcome.Fail, permanent.Outcome);
        Assert.Equal("boom", permanent.Reason);
        Assert.True(permanent.RecordError);

        var cancelled = Decide(FailureKind.Cancelled);
        Assert.Equal(FailureOutcome.Cancel, cancelled.Outcome);
        Assert.Equal("cancelled by worker: boom", cancelled.Reason);
        Assert.False(cancelled.RecordError);
    }
}
