using D8.Orchestrator.Streaming;
using Microsoft.Extensions.Configuration;

namespace D8.Tests.Streaming;

/// <summary>The hub's bounds and its contract: in order, a prefix, never more memory than its limits.</summary>
[Trait("Category", "Unit")]
public sealed class TaskStreamHubTests
{
    private static List<string> Drain(TaskStreamSubscription subscription)
    {
        var pieces = new List<string>();
        while (subscription.Deltas.TryRead(out var piece)) pieces.Add(piece);
        return pieces;
    }

    [Fact]
    public async Task Pieces_relayed_before_the_subscription_wait_for_it_and_the_end_completes_it()
    {
        var hub = new TaskStreamHub();
        hub.Publish("t", "Hel");
        hub.Publish("t", "lo");
        using var subscription = hub.Subscribe("t");
        hub.Publish("t", " world");

        Assert.Equal(["Hel", "lo", " world"], Drain(subscription));
        Assert.False(subscription.Truncated);
        hub.End("t");
        await subscription.Deltas.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, hub.HeldChars);
        Assert.Equal(0, hub.StreamCount);
    }

    [Fact]
    public void A_slow_reader_loses_what_exceeds_its_bound_and_gets_nothing_after_the_gap()
    {
        var hub = new TaskStreamHub(new TaskStreamLimits(SubscriberChars: 10, BacklogChars: 10));
        using var subscription = hub.Subscribe("t");
        hub.Publish("t", "12345");
        hub.Publish("t", "67890");
        Assert.Equal(10, hub.HeldChars);
        hub.Publish("t", "x"); // no room: dropped, and the reader is marked
        Assert.True(subscription.Truncated);
        Assert.True(subscription.Deltas.TryRead(out var first));
        Assert.Equal("12345", first);
        hub.Publish("t", "y"); // room again, but after a gap nothing more is sent: what arrives stays a prefix

        Assert.Equal(["67890"], Drain(subscription));
        Assert.Equal(0, hub.HeldChars);
    }

    [Fact]
    public void All_tasks_together_stay_under_the_total_bound()
    {
        var hub = new TaskStreamHub(new TaskStreamLimits(SubscriberChars: 15, BacklogChars: 15, TotalChars: 20));
        for (var i = 0; i < 3; i++) hub.Publish("t" + i, "0123456789");
        Assert.Equal(20, hub.HeldChars);

        using var third = hub.Subscribe("t2"); // its backlog did not fit: it missed the beginning
        Assert.True(third.Truncated);
        Assert.Empty(Drain(third));
        using var reader = hub.Subscribe("t0");
        hub.Publish("t0", "more"); // over the total: dropped for this reader
        Assert.True(reader.Truncated);
        Assert.Equal(["0123456789"], Drain(reader));
        Assert.Equal(10, hub.HeldChars); // t1's backlog is left
        hub.End("t1");
        Assert.Equal(0, hub.HeldChars);
    }

    [Fact]
    public void A_backlog_past_its_bound_is_dropped_whole_and_its_subscriber_is_truncated()
    {
        var hub = new TaskStreamHub(new TaskStreamLimits(SubscriberChars: 100, BacklogChars: 8));
        hub.Publish("t", "12345");
        hub.Publish("t", "67890");
        Assert.Equal(0, hub.HeldChars);
        using var subscription = hub.Subscribe("t");
        hub.Publish("t", "later");

        Assert.True(subscription.Truncated);
        Assert.Empty(Drain(subscription));
    }

    [Fact]
    public async Task A_subscription_after_the_end_completes_at_once_and_one_after_text_went_by_is_truncated()
    {
        var hub = new TaskStreamHub();
        using (var first = hub.Subscribe("t"))
        {
            hub.Publish("t", "abc");
            Assert.Equal(["abc"], Drain(first));
        }
        using (var second = hub.Subscribe("t"))
        {
            Assert.True(second.Truncated);
        }
        hub.End("t");
        using var late = hub.Subscribe("t");
        await late.Deltas.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(late.Truncated);
        hub.Publish("t", "stale"); // after the end nothing is kept
        Assert.Equal(0, hub.StreamCount);
        Assert.Equal(0, hub.HeldChars);
    }

    [Fact]
    public void Disposing_a_subscription_releases_what_it_had_not_read_and_a_quiet_one_leaves_no_state()
    {
        var hub = new TaskStreamHub();
        var subscription = hub.Subscribe("t");
        hub.Publish("t", "unread text");
        Assert.Equal(11, hub.HeldChars);
        subscription.Dispose();
        Assert.Equal(0, hub.HeldChars);

        hub.Subscribe("never-streamed").Dispose();
        Assert.Equal(1, hub.StreamCount); // only "t", which relayed text, waits for its end
    }

    [Fact]
    public void Ended_tasks_remembered_stay_bounded()
    {
        var hub = new TaskStreamHub(new TaskStreamLimits(EndedTasks: 2));
        foreach (var id in new[] { "a", "b", "c" }) hub.End(id);
        using var forgotten = hub.Subscribe("a"); // beyond the memory of ended tasks: an ordinary open subscription
        using var remembered = hub.Subscribe("c");
        Assert.False(forgotten.Deltas.Completion.IsCompleted);
        Assert.True(remembered.Deltas.Completion.IsCompleted);
    }

    [Fact]
    public void Limits_come_from_the_D8_STREAM_keys_and_a_bad_value_is_named()
    {
        static TaskStreamLimits Load(Dictionary<string, string?> keys) =>
            Microsoft.Extensions.Hosting.SettingsReader.Load(new ConfigurationBuilder().AddInMemoryCollection(keys).Build(), TaskStreamLimits.Load);

        Assert.Equal(new TaskStreamLimits(), Load([]));
        var small = Load(new() { ["D8_STREAM_SUBSCRIBER_CHARS"] = "100", ["D8_STREAM_TOTAL_CHARS"] = "1000" });
        Assert.Equal((100, 100, 1000L), (small.SubscriberChars, small.BacklogChars, small.TotalChars));
        var e = Assert.Throws<InvalidOperationException>(() => Load(new() { ["D8_STREAM_SUBSCRIBER_CHARS"] = "100", ["D8_STREAM_BACKLOG_CHARS"] = "101" }));
        Assert.Contains("D8_STREAM_BACKLOG_CHARS", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => Load(new() { ["D8_STREAM_TOTAL_CHARS"] = "0" }));
    }
}
