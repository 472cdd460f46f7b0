using D8.Contracts;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Streaming;
using D8.Tests.Orchestrator;

namespace D8.Tests.Streaming;

/// <summary>The relay's engine side (fake clock): only the current lease relays, in order; once text went out a
/// failed attempt fails the task instead of retrying it.</summary>
[Trait("Category", "Unit")]
public sealed class StreamRelayEngineTests
{
    private sealed record Streamed(EngineHarness Harness, TaskStreamHub Hub, string Worker, TaskLease Lease) : IAsyncDisposable
    {
        public void Relay(string text, long offset, TaskLease? lease = null, string? worker = null) =>
            Harness.Engine.Relay((lease ?? Lease).TaskId, worker ?? Worker,
                new RelayRequest { LeaseId = (lease ?? Lease).LeaseId, Offset = offset, Text = text }, Hub);

        public ValueTask DisposeAsync() => Harness.DisposeAsync();
    }

    private static async Task<Streamed> LeaseStreamedAsync(bool stream = true)
    {
        var h = new EngineHarness(scheduler: D8.Orchestrator.Scheduling.Placement.SchedulerKind.Fifo);
        var hub = new TaskStreamHub();
        h.Engine.StreamEnded += hub.End;
        await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "tell", Stream = stream }, null, null);
        var worker = await h.RegisterAsync();
        return new Streamed(h, hub, worker, await h.LeaseOneAsync(worker));
    }

    private static EngineError Refusal(Action relay) => Assert.Throws<EngineException>(relay).Error;

    [Fact]
    public async Task Pieces_of_the_current_lease_reach_a_subscriber_in_order_and_the_end_completes_it()
    {
        await using var s = await LeaseStreamedAsync();
        using var subscription = s.Hub.Subscribe(s.Lease.TaskId);
        s.Relay("Hel", 0);
        s.Relay("lo", 3);
        Assert.Equal(EngineError.Conflict, Refusal(() => s.Relay("again", 3))); // a repeated or lost piece: refused
        await s.Harness.CompleteAsync(s.Lease, s.Worker, "Hello");

        var pieces = new List<string>();
        await foreach (var piece in subscription.Deltas.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token))
        {
            pieces.Add(piece);
        }
        Assert.Equal("Hello", string.Concat(pieces));
        Assert.Equal(TaskState.Succeeded, (await s.Harness.GetAsync(s.Lease.TaskId)).State);
    }

    [Fact]
    public async Task A_stale_lease_another_workers_lease_an_unknown_task_and_a_task_that_does_not_stream_are_refused()
    {
        await using var s = await LeaseStreamedAsync();
        var other = await s.Harness.RegisterAsync();
        Assert.Equal(EngineError.Forbidden, Refusal(() => s.Relay("x", 0, worker: other)));
        Assert.Equal(EngineError.NotFound, Refusal(() => s.Relay("x", 0, s.Lease with { TaskId = "no-such-task" })));

        // Failed before any text: an ordinary retry, and the first lease is stale from then on.
        var retried = await s.Harness.FailAsync(s.Lease, s.Worker, FailureKind.Transient);
        Assert.Equal(TaskState.Queued, retried.State);
        Assert.Equal(EngineError.Conflict, Refusal(() => s.Relay("x", 0)));
        await s.Harness.AdvanceAsync(TimeSpan.FromMinutes(1));
        var second = await s.Harness.LeaseOneAsync(s.Worker);
        Assert.Equal(EngineError.Conflict, Refusal(() => s.Relay("x", 0)));
        s.Relay("fresh", 0, second);

        await using var plain = await LeaseStreamedAsync(stream: false);
        Assert.Equal(EngineError.Conflict, Refusal(() => plain.Relay("x", 0)));
    }

    [Fact]
    public async Task A_failure_after_text_was_relayed_fails_the_task_instead_of_retrying_it()
    {
        await using var s = await LeaseStreamedAsync();
        s.Relay("partial", 0);
        var view = await s.Harness.FailAsync(s.Lease, s.Worker, FailureKind.Transient);

        Assert.Equal(TaskState.Failed, view.State);
        Assert.StartsWith(FailurePolicy.StreamedReason, view.Reason, StringComparison.Ordinal);
        Assert.Equal(1, view.Attempts);
        Assert.Equal(0, s.Hub.StreamCount);
    }

    [Fact]
    public async Task A_rate_limit_after_text_was_relayed_fails_the_task_and_still_cools_the_worker_down()
    {
        await using var s = await LeaseStreamedAsync();
        s.Relay("partial", 0);
        var view = await s.Harness.FailAsync(s.Lease, s.Worker, FailureKind.RateLimited, retryAfter: 30);

        Assert.Equal(TaskState.Failed, view.State);
        var worker = Assert.Single(s.Harness.Engine.Workers(), w => w.Id == s.Worker);
        Assert.NotNull(worker.CooldownUntil);
    }

    [Fact]
    public async Task A_lease_that_expires_after_text_was_relayed_fails_the_task()
    {
        await using var s = await LeaseStreamedAsync();
        s.Relay("partial", 0);
        await s.Harness.AdvanceAsync(s.Harness.Options.LeaseDuration + TimeSpan.FromSeconds(1));

        var view = await s.Harness.GetAsync(s.Lease.TaskId);
        Assert.Equal(TaskState.Failed, view.State);
        Assert.Contains("lease expired", view.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_that_leaves_after_text_was_relayed_fails_the_task_and_one_that_leaves_before_gives_it_back()
    {
        await using var s = await LeaseStreamedAsync();
        s.Relay("partial", 0);
        await s.Harness.Engine.DeregisterAsync(s.Worker);
        Assert.Equal(TaskState.Failed, (await s.Harness.GetAsync(s.Lease.TaskId)).State);

        await using var quiet = await LeaseStreamedAsync();
        await quiet.Harness.Engine.DeregisterAsync(quiet.Worker);
        var view = await quiet.Harness.GetAsync(quiet.Lease.TaskId);
        Assert.Equal(TaskState.Queued, view.State);
        Assert.Equal(0, view.Attempts);
    }

    [Fact]
    public async Task That_text_went_out_survives_an_orchestrator_restart()
    {
        await using var s = await LeaseStreamedAsync();
        s.Relay("partial", 0);
        await s.Harness.Engine.SweepAsync(); // its commit follows the relay's
        await s.Harness.RestartAsync();

        var view = await s.Harness.FailAsync(s.Lease, s.Worker, FailureKind.Transient);
        Assert.Equal(TaskState.Failed, view.State);
        Assert.StartsWith(FailurePolicy.StreamedReason, view.Reason, StringComparison.Ordinal);
    }
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 0)]
    public async Task A_streamed_straggler_is_never_copied_to_a_faster_worker(bool stream, int copies)
    {
        await using var h = new EngineHarness(); // the fastest scheduler: it copies stragglers
        async Task<string> Register(string name, string provider) => (await h.Engine.RegisterAsync(new RegisterWorkerRequest
        {
            Name = name, Provider = provider, Models = ["m"], MaxConcurrency = 1,
        })).WorkerId;
        Task Submit(bool streamed) => h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", MaxTokens = 200, Stream = streamed }, null, null);
        var fast = await Register("cloud", "groq");
        var slow = await Register("pi", "ollama");
        await Submit(false);
        var taught = await h.LeaseOneAsync(fast); // the engine learns the cloud worker's speed: 300 tokens/s
        // It learns from the time between lease and report and from the answer's length, not from the reported figures.
        h.Time.Advance(TimeSpan.FromSeconds(200 / 300.0));
        await h.Engine.CompleteAsync(taught.TaskId, fast, new CompleteTaskRequest
        {
            LeaseId = taught.LeaseId, Content = new string('x', 200), Usage = new TokenUsage(5, 200, 205), TimeToFirstTokenMs = 0,
            DurationMs = 200 / 300.0 * 1000, TokensPerSecond = 300,
        });
        await Submit(stream);
        await h.LeaseOneAsync(slow);
        h.Time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(copies, (await h.LeaseAsync(fast)).Count);
    }
}
