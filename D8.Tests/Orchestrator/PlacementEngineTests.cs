using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Scheduling.Placement;
using Microsoft.Extensions.Configuration;

using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>The fastest scheduler in the engine, with a fake clock: speeds learned from reports, placement, budgets,
/// speculation and priorities.</summary>
[Trait("Category", "Unit")]
public class PlacementEngineTests : StoreTests
{
    private static async Task<string> RegisterAsync(EngineHarness h, string name, int slots, string provider = "groq")
    {
        var r = await h.Engine.RegisterAsync(new RegisterWorkerRequest
        {
            Name = name, Provider = provider, Models = ["m"], MaxConcurrency = slots,
        });
        return r.WorkerId;
    }

    private static async Task<string> SubmitAsync(EngineHarness h, int maxTokens, int priority = 5) =>
        (await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", MaxTokens = maxTokens, Priority = priority }, null, null)).View.Id;

    /// <summary>A completion of <paramref name="tokens"/> tokens reporting <paramref name="tps"/> (the engine learns
    /// from the time since the lease, so callers that teach a speed let that time pass first).</summary>
    private static Task<TaskView> CompleteAsync(EngineHarness h, TaskLease lease, string workerId, int tokens, double tps) =>
        h.Engine.CompleteAsync(lease.TaskId, workerId, new CompleteTaskRequest
        {
            LeaseId = lease.LeaseId, Content = new string('x', tokens), Usage = new TokenUsage(5, tokens, tokens + 5),
            TimeToFirstTokenMs = 0, DurationMs = tokens / tps * 1000, TokensPerSecond = tps,
        });

    /// <summary>Runs one task of 200 tokens on the worker, taking 200 / <paramref name="tps"/> seconds, so the engine learns its speed.</summary>
    private static async Task TeachAsync(EngineHarness h, string workerId, double tps)
    {
        await SubmitAsync(h, 200);
        var lease = await h.LeaseOneAsync(workerId);
        h.Time.Advance(TimeSpan.FromSeconds(200 / tps));
        await CompleteAsync(h, lease, workerId, 200, tps);
    }

    /// <summary>
    /// The worker's poll loop is alive: an empty poll, as a real worker's long-poll would be, just now. A worker that
    /// neither runs a task nor has asked for one within a recheck interval is not waited for (docs/fleet-scale.md), and
    /// teaching a slower worker afterwards lets its whole run time pass on the fake clock.
    /// </summary>
    private static async Task PollAsync(EngineHarness h, string workerId) => Assert.Empty(await h.LeaseAsync(workerId));

    /// <summary>
    /// A measured cloud worker (1 slot, 300 tokens/s) and an unmeasured Pi: the Pi leases a 200-token task, and 2 s
    /// later the idle cloud worker is handed a copy of it.
    /// </summary>
    private static async Task<(string Fast, string Slow, string TaskId, TaskLease Original, TaskLease Copy)> StartCopiedTaskAsync(EngineHarness h)
    {
        var fast = await RegisterAsync(h, "cloud", 1);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 300);
        var id = await SubmitAsync(h, 200);
        var original = await h.LeaseOneAsync(slow);
        h.Time.Advance(TimeSpan.FromSeconds(2));
        var copy = await h.LeaseOneAsync(fast);
        return (fast, slow, id, original, copy);
    }

    [StoreFact]
    public async Task Speed_per_model_is_learned_from_completion_reports_and_shown_in_the_fleet()
    {
        await using var h = new EngineHarness(Store);
        var w = await RegisterAsync(h, "cloud", 2);

        await TeachAsync(h, w, 100);
        await TeachAsync(h, w, 200);

        var view = Assert.Single(h.Engine.Workers());
        var speed = Assert.Single(view.Speeds);
        Assert.Equal("m", speed.Model);
        Assert.Equal(2, speed.Samples);
        Assert.Equal(100 + SpeedModel.Alpha * 100, speed.TokensPerSecond, 3);
    }

    [StoreFact]
    public async Task A_slow_worker_is_not_given_a_task_the_fast_workers_finish_sooner()
    {
        await using var h = new EngineHarness(Store);
        var fast = await RegisterAsync(h, "cloud", 2);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 300);
        await TeachAsync(h, slow, 10);
        await PollAsync(h, fast);
        for (var i = 0; i < 20; i++) await SubmitAsync(h, 200);

        // The pi needs 20 s for a task; the cloud does all 20 in about 6.7 s.
        Assert.Empty(await h.LeaseAsync(slow));
        Assert.Equal(2, (await h.LeaseAsync(fast, 2)).Count);
        // 4,000 tokens left at 610 tokens/s.
        Assert.InRange(h.Engine.Stats().DrainSeconds!.Value, 6.4, 6.7);
    }

    [StoreFact]
    public async Task A_slow_worker_still_helps_when_the_backlog_is_long_enough_and_takes_short_tasks_near_the_end()
    {
        await using var h = new EngineHarness(Store);
        var fast = await RegisterAsync(h, "cloud", 1);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 100);
        await TeachAsync(h, slow, 10);
        await PollAsync(h, fast);
        for (var i = 0; i < 3; i++) await SubmitAsync(h, 200);
        var shortTask = await SubmitAsync(h, 20);

        // The cloud needs 6.2 s for the rest; the pi does a 200-token task in 20 s (too slow) but the 20-token one in 2 s.
        var lease = await h.LeaseOneAsync(slow);
        Assert.Equal(shortTask, lease.TaskId);

        for (var i = 0; i < 30; i++) await SubmitAsync(h, 200);
        // Now the cloud needs 60 s or more: the pi's 20 s help.
        var slow2 = await RegisterAsync(h, "pi2", 1, "ollama");
        await h.Engine.CompleteAsync(lease.TaskId, slow, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "ok" });
        Assert.Single(await h.LeaseAsync(slow));
        Assert.Single(await h.LeaseAsync(slow2)); // unmeasured: it gets a task, which is how it gets measured
    }

    [StoreFact]
    public async Task Fifo_scheduler_gives_the_slow_worker_a_task_as_before()
    {
        await using var h = new EngineHarness(Store, scheduler: SchedulerKind.Fifo);
        var fast = await RegisterAsync(h, "cloud", 2);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 300);
        await TeachAsync(h, slow, 10);
        for (var i = 0; i < 20; i++) await SubmitAsync(h, 200);

        Assert.Single(await h.LeaseAsync(slow));
        Assert.Equal("fifo", h.Engine.Stats().Scheduler);
    }

    [StoreFact]
    public async Task A_worker_waiting_for_its_budget_gets_no_lease_until_it_reports_room_again()
    {
        await using var h = new EngineHarness(Store);
        var w = await RegisterAsync(h, "gemini", 4, "gemini");
        await SubmitAsync(h, 100);
        var readyAt = h.Time.GetUtcNow().AddSeconds(12);
        await h.Engine.HeartbeatAsync(w, new HeartbeatRequest
        {
            Budget = [new BudgetWindow("requests_per_minute", 5, 5, 60), new BudgetWindow("requests_per_day", 7, 20, 86400)],
            BudgetReadyAt = readyAt,
        });

        Assert.Empty(await h.LeaseAsync(w));
        var view = Assert.Single(h.Engine.Workers());
        Assert.Equal(readyAt, view.BudgetReadyAt);
        Assert.Equal(2, view.Budget.Count);

        // The budget refills at readyAt: leasing resumes by itself, and at once on a heartbeat that says so.
        h.Time.Advance(TimeSpan.FromSeconds(12));
        Assert.Single(await h.LeaseAsync(w));
        await SubmitAsync(h, 100);
        await h.Engine.HeartbeatAsync(w, new HeartbeatRequest { BudgetReadyAt = h.Time.GetUtcNow().AddMinutes(1) });
        Assert.Empty(await h.LeaseAsync(w));
        await h.Engine.HeartbeatAsync(w, new HeartbeatRequest());
        Assert.Single(await h.LeaseAsync(w));
    }

    [StoreFact]
    public async Task A_parked_slow_poll_is_served_once_the_fast_worker_goes_away()
    {
        await using var h = new EngineHarness(Store);
        var fast = await RegisterAsync(h, "cloud", 2);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 300);
        await TeachAsync(h, slow, 10);
        var id = await SubmitAsync(h, 200);

        var poll = h.Engine.LeaseAsync(slow, 1, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(poll.IsCompleted);
        await h.Engine.DeregisterAsync(fast);
        // The parked poll looks again at the scheduler's recheck interval (a clock tick here).
        h.Time.Advance(h.Options.SchedulerRecheck);

        var lease = Assert.Single(await poll.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(id, lease.TaskId);
    }

    [StoreTheory]
    [InlineData(SchedulerKind.Fastest)]
    [InlineData(SchedulerKind.Fifo)]
    public async Task A_poll_parked_while_the_worker_is_full_gets_the_next_task_as_the_report_frees_the_slot(SchedulerKind scheduler)
    {
        // The worker asks for its next lease while its result is still being reported (WorkerLoop.SlotLoopAsync):
        // that poll parks and is served by the completion itself, with no clock tick and no second request.
        await using var h = new EngineHarness(Store, scheduler: scheduler);
        var w = await RegisterAsync(h, "cloud", 1);
        await TeachAsync(h, w, 300);
        await SubmitAsync(h, 200);
        var next = await SubmitAsync(h, 200);
        var running = await h.LeaseOneAsync(w);

        var poll = h.Engine.LeaseAsync(w, 1, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(poll.IsCompleted);
        await CompleteAsync(h, running, w, 200, 300);

        var lease = Assert.Single(await poll.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(next, lease.TaskId);
    }

    [StoreFact]
    public async Task An_idle_slow_worker_does_not_take_an_urgent_task_while_the_fast_worker_finishes_its_running_ones()
    {
        await using var h = new EngineHarness(Store);
        var fast = await RegisterAsync(h, "cloud", 2);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 300);
        await TeachAsync(h, slow, 10);
        for (var i = 0; i < 4; i++) await SubmitAsync(h, 200);
        var running = await h.LeaseAsync(fast, 2);
        Assert.Equal(2, running.Count);
        var urgent = new List<string>();
        for (var i = 0; i < 20; i++) urgent.Add(await SubmitAsync(h, 200, priority: 9));

        // Both cloud slots are busy with lower-priority tasks for another 0.67 s, yet the pi (20 s a task) would
        // finish any urgent task last: it is given none, nor a lower-priority one ahead of them.
        Assert.Empty(await h.LeaseAsync(slow));
        await CompleteAsync(h, running[0], fast, 200, 300);
        Assert.Contains((await h.LeaseOneAsync(fast)).TaskId, urgent);
    }

    [StoreFact]
    public async Task Higher_priority_tasks_go_first_to_the_fast_worker()
    {
        await using var h = new EngineHarness(Store);
        var fast = await RegisterAsync(h, "cloud", 1);
        await TeachAsync(h, fast, 300);
        for (var i = 0; i < 5; i++) await SubmitAsync(h, 200);
        var urgent = await SubmitAsync(h, 200, priority: 9);

        Assert.Equal(urgent, (await h.LeaseOneAsync(fast)).TaskId);
    }

    [StoreFact]
    public async Task A_request_bound_worker_gets_the_longest_tasks_and_the_others_leave_them_to_it()
    {
        await using var h = new EngineHarness(Store);
        var groq = await RegisterAsync(h, "groq", 4);
        var gemini = await RegisterAsync(h, "gemini", 4, "gemini");
        await h.Engine.HeartbeatAsync(gemini, new HeartbeatRequest
        {
            Budget = [new BudgetWindow("requests_per_minute", 0, 5, 60), new BudgetWindow("requests_per_day", 18, 20, 86400)],
        });
        var ids = new Dictionary<int, string>();
        foreach (var tokens in new[] { 100, 800, 200, 700, 50 }) ids[tokens] = await SubmitAsync(h, tokens);

        // Two requests left today: the two longest tasks are kept for them.
        Assert.Equal(ids[100], (await h.LeaseOneAsync(groq)).TaskId);
        Assert.Equal(ids[800], (await h.LeaseOneAsync(gemini)).TaskId);
        await h.Engine.HeartbeatAsync(gemini, new HeartbeatRequest
        {
            Budget = [new BudgetWindow("requests_per_minute", 1, 5, 60), new BudgetWindow("requests_per_day", 19, 20, 86400)],
        });
        Assert.Equal(ids[200], (await h.LeaseOneAsync(groq)).TaskId);
        Assert.Equal(ids[50], (await h.LeaseOneAsync(groq)).TaskId);
        // Nothing else left: the reserved task is not held back from an idle worker.
        Assert.Equal(ids[700], (await h.LeaseOneAsync(groq)).TaskId);
    }

    [StoreFact]
    public async Task A_lease_with_a_token_budget_gets_the_longest_task_that_fits()
    {
        await using var h = new EngineHarness(Store);
        var groq = await RegisterAsync(h, "groq", 4);
        await SubmitAsync(h, 800);
        var fits = await SubmitAsync(h, 300);
        await SubmitAsync(h, 100);

        var lease = Assert.Single(await h.Engine.LeaseAsync(groq, 1, TimeSpan.Zero, CancellationToken.None, tokenBudget: 400));

        Assert.Equal(fits, lease.TaskId);
        Assert.Empty(await h.Engine.LeaseAsync(groq, 1, TimeSpan.Zero, CancellationToken.None, tokenBudget: 10));
    }

    [StoreFact]
    public async Task Speculation_copy_that_finishes_first_wins_the_original_is_cancelled_and_usage_counts_once()
    {
        await using var h = new EngineHarness(Store);
        var fast = await RegisterAsync(h, "cloud", 2);
        var slow = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, fast, 300);
        var tokensBefore = h.Engine.Stats().TokensReported;
        var id = await SubmitAsync(h, 200);
        var original = await h.LeaseOneAsync(slow); // unmeasured pi: it gets the task

        // Nothing is ready; the pi's run is not yet overdue against the cloud's 0.67 s: no copy.
        Assert.Empty(await h.LeaseAsync(fast));
        h.Time.Advance(TimeSpan.FromSeconds(2));
        var copy = await h.LeaseOneAsync(fast);
        Assert.Equal(id, copy.TaskId);
        Assert.NotEqual(original.LeaseId, copy.LeaseId);
        Assert.Empty(await h.LeaseAsync(fast)); // one copy per task

        var done = await CompleteAsync(h, copy, fast, 200, 300);

        Assert.Equal(TaskState.Succeeded, done.State);
        Assert.Equal(fast, done.Result!.WorkerId);
        var hb = await h.Engine.HeartbeatAsync(slow, new HeartbeatRequest { LeaseIds = [original.LeaseId] });
        Assert.Contains(original.LeaseId, hb.LostLeases);
        var late = await Assert.ThrowsAsync<EngineException>(() => CompleteAsync(h, original, slow, 200, 10));
        Assert.Equal(EngineError.Conflict, late.Error);
        var stats = h.Engine.Stats();
        Assert.Equal(tokensBefore + 205, stats.TokensReported);
        Assert.Equal((1, 1), (stats.Speculations, stats.SpeculationsWon));
        // The loser had not finished 200 tokens in 2 s: it is known to be at most 100 tokens/s now.
        Assert.True(h.Engine.Workers().Single(w => w.Id == slow).Speeds.Single().TokensPerSecond <= 100);
        Assert.Equal((0, 0), (h.Engine.Workers().Single(w => w.Id == slow).InFlight, 0));
    }

    [StoreFact]
    public async Task A_budgeted_fast_worker_copies_a_measured_slow_workers_long_task()
    {
        await using var h = new EngineHarness(Store);
        var groq = await RegisterAsync(h, "groq", 4);
        var pi = await RegisterAsync(h, "pi", 1, "ollama");
        await TeachAsync(h, groq, 300);
        await TeachAsync(h, pi, 8);
        await h.Engine.HeartbeatAsync(groq, new HeartbeatRequest
        {
            Budget = [new BudgetWindow("requests_per_minute", 3, 30, 61.2), new BudgetWindow("tokens_per_minute", 5000, 6000, 61.2)],
        });
        // Plenty of work: the pi helps with a 200-token task (25 s).
        for (var i = 0; i < 100; i++) await SubmitAsync(h, 200);
        var original = await h.LeaseOneAsync(pi);
        for (var i = 0; i < 99; i++) await h.CompleteAsync(await h.LeaseOneAsync(groq), groq);
        h.Time.Advance(TimeSpan.FromSeconds(5));

        var copy = Assert.Single(await h.Engine.LeaseAsync(groq, 1, TimeSpan.Zero, CancellationToken.None, tokenBudget: 1000));

        Assert.Equal(original.TaskId, copy.TaskId);
    }

    [StoreFact]
    public async Task Speculation_original_that_finishes_first_wins_and_the_copy_is_taken_back()
    {
        await using var h = new EngineHarness(Store);
        var (fast, slow, id, original, copy) = await StartCopiedTaskAsync(h);

        var done = await CompleteAsync(h, original, slow, 200, 10);

        Assert.Equal(slow, done.Result!.WorkerId);
        var hb = await h.Engine.HeartbeatAsync(fast, new HeartbeatRequest { LeaseIds = [copy.LeaseId] });
        Assert.Contains(copy.LeaseId, hb.LostLeases);
        await Assert.ThrowsAsync<EngineException>(() => CompleteAsync(h, copy, fast, 200, 300));
        // The fast worker's slot is free again.
        var next = await SubmitAsync(h, 200);
        Assert.Equal(next, (await h.LeaseOneAsync(fast)).TaskId);
        Assert.Equal(TaskState.Succeeded, (await h.GetAsync(id)).State);
    }

    [StoreFact]
    public async Task A_failed_copy_leaves_the_original_running_without_costing_an_attempt()
    {
        await using var h = new EngineHarness(Store);
        var (fast, slow, id, original, copy) = await StartCopiedTaskAsync(h);

        var view = await h.FailAsync(copy, fast, FailureKind.RateLimited, retryAfter: 3);

        Assert.Equal(TaskState.Leased, view.State);
        Assert.Equal(slow, view.LeasedBy);
        Assert.Equal(1, view.Attempts);
        Assert.Equal(TaskState.Succeeded, (await CompleteAsync(h, original, slow, 200, 10)).State);
        Assert.Equal(id, original.TaskId);
    }

    [StoreFact]
    public async Task The_copy_carries_on_when_the_original_worker_leaves()
    {
        await using var h = new EngineHarness(Store);
        var (fast, slow, _, _, copy) = await StartCopiedTaskAsync(h);

        await h.Engine.DeregisterAsync(slow);

        var view = await h.GetAsync(copy.TaskId);
        Assert.Equal((TaskState.Leased, fast), (view.State, view.LeasedBy));
        Assert.Equal(TaskState.Succeeded, (await CompleteAsync(h, copy, fast, 200, 300)).State);
    }

    [StoreFact]
    public void Scheduler_key_is_validated()
    {
        IConfiguration Config(string value) => new ConfigurationBuilder().AddInMemoryCollection(
            [KeyValuePair.Create("D8_JOIN_TOKEN", (string?)OptionsTests.Join), KeyValuePair.Create("D8_API_KEYS", (string?)OptionsTests.KeyA),
             KeyValuePair.Create("D8_SCHEDULER", (string?)value)]).Build();

        Assert.Equal(SchedulerKind.Fastest, OptionsTests.Load(Config(""), false, []).Scheduler);
        Assert.Equal(SchedulerKind.Fifo, OptionsTests.Load(Config("FIFO"), false, []).Scheduler);
        var ex = Assert.Throws<InvalidOperationException>(() => OptionsTests.Load(Config("random"), false, []));
        Assert.Contains("D8_SCHEDULER", ex.Message);
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresPlacementEngineTests : PlacementEngineTests, IPostgresStoreTests;
