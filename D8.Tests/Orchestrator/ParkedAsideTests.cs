using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Tests.Orchestrator;

/// <summary>
/// A poll whose worker cannot take a lease is parked aside, out of what placement reads: one blocked after it parked
/// (a 429 on another slot) is set aside the first time a placement meets it, and serves again when the cooldown ends.
/// </summary>
[Trait("Category", "Unit")]
public class ParkedAsideTests
{
    [Theory]
    [InlineData(SchedulerKind.Fastest)]
    [InlineData(SchedulerKind.Fifo)]
    public async Task A_poll_blocked_after_it_parked_is_set_aside_once_and_serves_again_when_the_cooldown_ends(SchedulerKind kind)
    {
        await using var h = new EngineHarness(scheduler: kind);
        var a = await h.RegisterAsync(concurrency: 2);
        var first = await h.SubmitAsync("first");
        var lease = await h.LeaseOneAsync(a);
        // Its second slot's poll parks, then the first slot's provider says 429: the worker cools down for 30 s.
        var poll = h.Engine.LeaseAsync(a, 1, TimeSpan.FromSeconds(120), CancellationToken.None);
        await WaitUntilAsync(() => h.Engine.ParkedSplit() == (1, 0));
        await h.FailAsync(lease, a, FailureKind.RateLimited, retryAfter: 30);

        // The task goes back to the queue and its placement meets the blocked poll: the poll is set aside (it looks
        // again and parks aside), the task stays ready, and no later placement reads the poll.
        await WaitUntilAsync(() => h.Engine.ParkedSplit() == (0, 1));
        Assert.False(poll.IsCompleted);
        Assert.Equal(TaskState.Queued, (await h.GetAsync(first)).State);
        var second = await h.SubmitAsync("second");
        Assert.Equal((0, 1), h.Engine.ParkedSplit());
        Assert.Equal(TaskState.Queued, (await h.GetAsync(second)).State);

        // Cooldown over: the poll's own wait was cut to its end; it looks again and takes a task.
        h.Time.Advance(TimeSpan.FromSeconds(31));
        var leases = await poll.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(leases);
        Assert.Equal((0, 0), h.Engine.ParkedSplit());
    }

    /// <summary>Polls an engine view until it holds (the woken poll parks again on the thread pool), failing after 30 s.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(10); // polling interval of an explicit condition, not synchronisation
        }
    }
}
