using D8.Contracts;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Tests.Orchestrator;

/// <summary>Speeds come from what the orchestrator observes; a worker's figures are bounded hints; copies are bounded per worker.</summary>
[Trait("Category", "Unit")]
public sealed class ObservedRunTests
{
    [Fact]
    public void Absurd_reported_figures_give_the_observed_speed()
    {
        // 100 tokens, 2 s from lease to report; the worker claims a 0 ms first token and a billion tokens/s.
        var run = ObservedRun.Sample(TimeSpan.FromSeconds(2), 100, maxTokens: 256, answerChars: 400, reportedTimeToFirstTokenMs: 0);
        Assert.NotNull(run);
        Assert.Equal(50, run.Value.TokensPerSecond, 6);
        Assert.Equal(2000, run.Value.DurationMs, 6);
    }

    [Fact]
    public void Tokens_are_capped_by_max_tokens_and_by_the_answers_characters_and_ttft_by_half_the_time()
    {
        Assert.Equal(20, ObservedRun.Sample(TimeSpan.FromSeconds(1), 1_000_000, 20, 10_000, 0)!.Value.Tokens);
        Assert.Equal(3 + 16, ObservedRun.Sample(TimeSpan.FromSeconds(1), 1_000_000, null, 3, 0)!.Value.Tokens);
        var run = ObservedRun.Sample(TimeSpan.FromSeconds(1), 100, null, 1000, reportedTimeToFirstTokenMs: 999)!.Value;
        Assert.Equal(500, run.TimeToFirstTokenMs, 6);
        Assert.Equal(200, run.TokensPerSecond, 6);
        Assert.Equal(ObservedRun.MaxTokensPerSecond, ObservedRun.Sample(TimeSpan.FromMilliseconds(1), 1000, null, 4000, 0)!.Value.TokensPerSecond);
        Assert.Null(ObservedRun.Sample(TimeSpan.Zero, 100, null, 400, 0));
        Assert.Null(ObservedRun.Sample(TimeSpan.FromSeconds(1), 0, null, 400, 0));
    }

    [Fact]
    public async Task A_worker_reporting_a_huge_speed_is_measured_at_the_time_it_took()
    {
        await using var h = new EngineHarness();
        var w = (await h.Engine.RegisterAsync(new RegisterWorkerRequest { Name = "rogue", Provider = "groq", Models = ["m"], MaxConcurrency = 1 })).WorkerId;
        await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", MaxTokens = 100 }, null, null);
        var lease = await h.LeaseOneAsync(w);
        h.Time.Advance(TimeSpan.FromSeconds(4));
        await h.Engine.CompleteAsync(lease.TaskId, w, new CompleteTaskRequest
        {
            LeaseId = lease.LeaseId, Content = new string('x', 400), Usage = new TokenUsage(1, 1_000_000, 1_000_001),
            TimeToFirstTokenMs = 0, DurationMs = 1, TokensPerSecond = 1e9,
        });

        var speed = Assert.Single(Assert.Single(h.Engine.Workers()).Speeds);
        Assert.Equal(25, speed.TokensPerSecond, 6);
    }

    [Fact]
    public async Task An_idle_fast_worker_holds_at_most_a_quarter_of_its_slots_as_copies()
    {
        await using var h = new EngineHarness();
        async Task<string> Register(string name, string provider, int slots) =>
            (await h.Engine.RegisterAsync(new RegisterWorkerRequest { Name = name, Provider = provider, Models = ["m"], MaxConcurrency = slots })).WorkerId;
        var fast = await Register("cloud", "groq", 4);
        // Teach it 300 tokens/s: 200 tokens in 2/3 s.
        await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", MaxTokens = 200 }, null, null);
        var teach = await h.LeaseOneAsync(fast);
        h.Time.Advance(TimeSpan.FromSeconds(200 / 300.0));
        await h.Engine.CompleteAsync(teach.TaskId, fast, new CompleteTaskRequest { LeaseId = teach.LeaseId, Content = new string('x', 200), Usage = new TokenUsage(1, 200, 201) });
        // Three unmeasured Pis each run a 200-token task.
        foreach (var pi in new[] { "pi-1", "pi-2", "pi-3" })
        {
            var id = await Register(pi, "ollama", 1);
            await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", MaxTokens = 200 }, null, null);
            await h.LeaseOneAsync(id);
        }
        h.Time.Advance(TimeSpan.FromSeconds(5));

        var copies = new List<TaskLease>();
        for (var i = 0; i < 3; i++) copies.AddRange(await h.LeaseAsync(fast));

        Assert.Single(copies);
        Assert.Equal(1, h.Engine.Stats().Speculations);
        Assert.Equal(1, Math.Max(1, 4 / SchedulingEngine.CopySlotsDivisor));
    }
}
