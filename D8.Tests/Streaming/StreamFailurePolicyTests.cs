using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Tests.Streaming;

/// <summary>The streamed-content rule of <see cref="FailurePolicy"/>, as a pure function (FailurePolicyTests style).</summary>
[Trait("Category", "Unit")]
public sealed class StreamFailurePolicyTests
{
    private static FailureDecision Decide(FailureKind kind, int attempts = 1) =>
        FailurePolicy.Decide(kind, attempts, 3, "boom", 20, TimeSpan.FromSeconds(5), new Random(1));

    [Theory]
    [InlineData(FailureKind.Transient)]
    [InlineData(FailureKind.RateLimited)]
    [InlineData(FailureKind.Released)]
    public void Once_text_went_out_every_retry_becomes_a_failure_that_says_why(FailureKind kind)
    {
        var d = FailurePolicy.AfterStreamedContent(Decide(kind), contentRelayed: true, "boom");
        Assert.Equal(FailureOutcome.Fail, d.Outcome);
        Assert.False(d.GiveAttemptBack);
        Assert.True(d.RecordError);
        Assert.Equal(TimeSpan.Zero, d.Delay);
        Assert.Equal(FailurePolicy.StreamedReason + "boom", d.Reason);
        Assert.Equal(Decide(kind).Cooldown, d.Cooldown); // a rate-limited worker still cools down
    }

    [Fact]
    public void A_lease_taken_back_after_text_went_out_fails_too()
    {
        Assert.Equal(FailureOutcome.Requeue, FailurePolicy.TakenBack.Outcome);
        Assert.True(FailurePolicy.TakenBack.GiveAttemptBack);
        Assert.Equal(FailureOutcome.Fail, FailurePolicy.AfterStreamedContent(FailurePolicy.TakenBack, true, "left").Outcome);
        var expired = FailurePolicy.RetryOrFail(1, 3, "lease expired", new Random(1), recordError: true);
        Assert.Equal(FailureOutcome.Fail, FailurePolicy.AfterStreamedContent(expired, true, "lease expired").Outcome);
    }

    [Theory]
    [InlineData(FailureKind.Transient)]
    [InlineData(FailureKind.RateLimited)]
    [InlineData(FailureKind.Released)]
    [InlineData(FailureKind.Permanent)]
    [InlineData(FailureKind.Cancelled)]
    public void Before_any_text_the_decision_stands(FailureKind kind) =>
        Assert.Equal(Decide(kind), FailurePolicy.AfterStreamedContent(Decide(kind), contentRelayed: false, "boom"));

    [Theory]
    [InlineData(FailureKind.Permanent)]
    [InlineData(FailureKind.Cancelled)]
    public void A_cancel_or_a_failure_stands_after_text_too(FailureKind kind) =>
        Assert.Equal(Decide(kind), FailurePolicy.AfterStreamedContent(Decide(kind), contentRelayed: true, "boom"));

    [Fact]
    public void The_last_attempt_fails_with_its_own_reason()
    {
        var last = Decide(FailureKind.Transient, attempts: 3);
        Assert.Equal(last, FailurePolicy.AfterStreamedContent(last, true, "boom"));
    }
}
