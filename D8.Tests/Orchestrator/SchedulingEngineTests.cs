using D8.Contracts;
using D8.Orchestrator.Scheduling;

using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>Engine rules with a fake clock: no test sleeps; time moves by Advance.</summary>
[Trait("Category", "Unit")]
public class SchedulingEngineTests : StoreTests
{
    [StoreFact]
    public async Task Lease_hands_out_a_queued_task_once_with_an_expiry()
    {
        await using var h = new EngineHarness(Store);
        var worker = await h.RegisterAsync();
        var id = await h.SubmitAsync();

        var lease = await h.LeaseOneAsync(worker);

        Assert.Equal(id, lease.TaskId);
        Assert.Equal(1, lease.Attempt);
        Assert.Equal(h.Time.GetUtcNow() + h.Options.LeaseDuration, lease.ExpiresAt);
        Assert.Empty(await h.LeaseAsync(worker));
        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Leased, view.State);
        Assert.Equal(worker, view.LeasedBy);
    }

    [StoreFact]
    public async Task Higher_priority_goes_first_then_submission_order()
    {
        await using var h = new EngineHarness(Store);
        var worker = await h.RegisterAsync(concurrency: 10);
        var low = await h.SubmitAsync("low", priority: 1);
        var first5 = await h.SubmitAsync("a", priority: 5);
        var high = await h.SubmitAsync("high", priority: 9);
        var second5 = await h.SubmitAsync("b", priority: 5);

        var order = (await h.LeaseAsync(worker, 10)).Select(l => l.TaskId).ToArray();

        Assert.Equal([high, first5, second5, low], order);
    }

    [StoreFact]
    public async Task Expired_lease_returns_task_to_queue_with_the_attempt_counted()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var lease = await h.LeaseOneAsync(a);

        await h.AdvanceAsync(h.Options.LeaseDuration + TimeSpan.FromSeconds(1));

        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Queued, view.State);
        Assert.Equal(1, view.Attempts);
        Assert.NotNull(view.NotBefore);
        var error = Assert.Single(view.Errors);
        Assert.Contains("lease expired", error.Message);
        // The old holder hears in its next heartbeat that the lease is gone, and cannot complete it.
        var hb = await h.Engine.HeartbeatAsync(a, new HeartbeatRequest { LeaseIds = [lease.LeaseId] });
        Assert.Contains(lease.LeaseId, hb.LostLeases);
        var stale = await Assert.ThrowsAsync<EngineException>(() => h.CompleteAsync(lease, a));
        Assert.Equal(EngineError.Conflict, stale.Error);

        // After the backoff it is leased again as attempt 2.
        await h.AdvanceAsync(Backoff.Cap);
        var again = await h.LeaseOneAsync(a);
        Assert.Equal(id, again.TaskId);
        Assert.Equal(2, again.Attempt);
    }

    [StoreFact]
    public async Task Task_fails_after_max_attempts_and_keeps_every_error()
    {
        await using var h = new EngineHarness(Store, maxAttempts: 3);
        var w = await h.RegisterAsync();
        var id = await h.SubmitAsync();

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await h.AdvanceAsync(Backoff.Cap);
            var lease = await h.LeaseOneAsync(w);
            Assert.Equal(attempt, lease.Attempt);
            var after = await h.FailAsync(lease, w, FailureKind.Transient);
            Assert.Equal(attempt < 3 ? TaskState.Queued : TaskState.Failed, after.State);
        }

        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Failed, view.State);
        Assert.Equal([1, 2, 3], view.Errors.Select(e => e.Attempt));
        Assert.All(view.Errors, e => Assert.Equal(FailureKind.Transient, e.Kind));
        Assert.Contains("after 3 attempts", view.Reason);
        Assert.Equal(1, h.Engine.Stats().Tasks["failed"]);
    }

    [StoreFact]
    public async Task Transient_failure_waits_out_its_backoff_before_the_next_lease()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var view = await h.FailAsync(await h.LeaseOneAsync(w), w, FailureKind.Transient);

        var delay = view.NotBefore!.Value - h.Time.GetUtcNow();
        Assert.InRange(delay.TotalSeconds, 1.6, 2.4); // 2 s ± 20 % after the first attempt
        Assert.Empty(await h.LeaseAsync(w));
        await h.AdvanceAsync(delay);
        Assert.Equal(id, (await h.LeaseOneAsync(w)).TaskId);
    }

    [StoreFact]
    public void Backoff_doubles_per_attempt_within_jitter_bounds_and_is_capped()
    {
        var random = new Random(7);
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var nominal = Math.Min(2 * Math.Pow(2, attempt - 1), 60);
            var seen = Enumerable.Range(0, 200).Select(_ => Backoff.Delay(attempt, random).TotalSeconds).ToArray();
            Assert.All(seen, s => Assert.InRange(s, nominal * 0.8, Math.Min(nominal * 1.2, 60)));
            Assert.True(seen.Distinct().Count() > 1 || nominal * 0.8 >= 60, "delays must be jittered");
        }
        Assert.InRange(Backoff.Delay(50, random).TotalSeconds, 48, 60);
    }

    [StoreFact]
    public async Task Rate_limited_task_goes_back_without_burning_an_attempt_and_the_worker_cools_down()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync("groq", ["llama"]);
        var id = await h.SubmitAsync();
        await h.SubmitAsync("second");
        var lease = await h.LeaseOneAsync(a);

        var view = await h.FailAsync(lease, a, FailureKind.RateLimited, retryAfter: 20);

        Assert.Equal(TaskState.Queued, view.State);
        Assert.Equal(0, view.Attempts);
        Assert.Null(view.NotBefore); // another worker may take it at once
        // A gets nothing during its cooldown, although tasks wait…
        Assert.Empty(await h.LeaseAsync(a));
        var hb = await h.Engine.HeartbeatAsync(a, new HeartbeatRequest());
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromSeconds(20), hb.CooldownUntil);
        await h.AdvanceAsync(TimeSpan.FromSeconds(19));
        Assert.Empty(await h.LeaseAsync(a));
        // …while another worker gets the same task right away, as its first counted attempt.
        var b = await h.RegisterAsync("groq", ["llama"]);
        var taken = await h.LeaseOneAsync(b);
        Assert.Equal(id, taken.TaskId);
        Assert.Equal(1, taken.Attempt);
        // After retry-after, A leases again.
        await h.AdvanceAsync(TimeSpan.FromSeconds(2));
        Assert.Single(await h.LeaseAsync(a));
    }

    [StoreFact]
    public async Task Completion_is_idempotent_on_the_lease_and_a_stale_lease_is_refused()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync();
        var b = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var first = await h.LeaseOneAsync(a);
        await h.AdvanceAsync(h.Options.LeaseDuration + TimeSpan.FromSeconds(1)); // A's lease expires
        await h.AdvanceAsync(Backoff.Cap);
        var second = await h.LeaseOneAsync(b);

        var late = await Assert.ThrowsAsync<EngineException>(() => h.CompleteAsync(first, a, "from A"));
        Assert.Equal(EngineError.Conflict, late.Error);

        var done = await h.CompleteAsync(second, b, "from B");
        var again = await h.CompleteAsync(second, b, "from B, retried");
        Assert.Equal(TaskState.Succeeded, done.State);
        Assert.Equal("from B", again.Result!.Content); // the first result stays; not recorded twice
        var fleet = h.Engine.Workers().Single(w => w.Id == b);
        Assert.Equal(1, fleet.TasksSucceeded);
        Assert.Equal(1, h.Engine.Stats().Tasks["succeeded"]);
        Assert.Equal(id, done.Id);
    }

    [StoreFact]
    public async Task Worker_cannot_report_for_a_lease_it_does_not_hold()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync();
        var b = await h.RegisterAsync();
        await h.SubmitAsync();
        var lease = await h.LeaseOneAsync(a);

        var ex = await Assert.ThrowsAsync<EngineException>(() => h.CompleteAsync(lease, b));
        Assert.Equal(EngineError.Forbidden, ex.Error);
        Assert.Equal(TaskState.Leased, (await h.GetAsync(lease.TaskId)).State);
    }

    [StoreFact]
    public async Task Tasks_go_only_to_workers_matching_their_provider_and_model()
    {
        await using var h = new EngineHarness(Store);
        var ollama = await h.RegisterAsync("ollama", ["deepseek-coder:1.3b"]);
        var groq = await h.RegisterAsync("groq", ["llama-3.1-8b-instant", "gemma"]);
        var forGroq = await h.SubmitAsync(provider: "groq");
        var forGemma = await h.SubmitAsync(model: "gemma");
        var forDeepseek = await h.SubmitAsync(provider: "ollama", model: "deepseek-coder:1.3b");
        var anyone = await h.SubmitAsync();

        var ollamaGot = (await h.LeaseAsync(ollama, 10)).Select(l => l.TaskId).ToHashSet();
        var groqGot = (await h.LeaseAsync(groq, 10)).Select(l => l.TaskId).ToHashSet();

        Assert.Equal(new[] { forDeepseek, anyone }.Order(), ollamaGot.Order());
        Assert.Equal(new[] { forGroq, forGemma }.Order(), groqGot.Order());
    }

    [StoreFact]
    public async Task Unroutable_task_is_visible_until_a_fitting_worker_registers()
    {
        await using var h = new EngineHarness(Store);
        await h.RegisterAsync("ollama", ["deepseek-coder:1.3b"]);
        var id = await h.SubmitAsync(provider: "gemini", model: "gemini-2.5-flash");

        var view = await h.GetAsync(id);
        Assert.True(view.Unroutable);
        Assert.Contains("gemini", view.Reason);
        Assert.Equal(1, h.Engine.Stats().Unroutable);

        var gemini = await h.RegisterAsync("gemini", ["gemini-2.5-flash"]);
        view = await h.GetAsync(id);
        Assert.False(view.Unroutable);
        Assert.Null(view.Reason);
        Assert.Equal(0, h.Engine.Stats().Unroutable);

        // Deregistering the only fitting worker makes it unroutable again.
        await h.Engine.DeregisterAsync(gemini);
        Assert.True((await h.GetAsync(id)).Unroutable);
    }

    [StoreFact]
    public async Task Heartbeats_keep_a_long_task_leased_for_over_30_minutes()
    {
        await using var h = new EngineHarness(Store);
        var pi = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var lease = await h.LeaseOneAsync(pi);

        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromMinutes(40); elapsed += h.Options.HeartbeatInterval)
        {
            await h.AdvanceAsync(h.Options.HeartbeatInterval);
            var hb = await h.Engine.HeartbeatAsync(pi, new HeartbeatRequest { InFlight = 1, LeaseIds = [lease.LeaseId] });
            Assert.Empty(hb.LostLeases);
        }

        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Leased, view.State);
        Assert.Empty(view.Errors);
        Assert.Equal(TaskState.Succeeded, (await h.CompleteAsync(lease, pi)).State);
    }

    [StoreFact]
    public async Task Silent_worker_is_marked_offline_but_kept_and_returns_when_it_speaks()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();

        await h.AdvanceAsync(h.Options.OfflineAfter + TimeSpan.FromSeconds(1));

        var view = Assert.Single(h.Engine.Workers());
        Assert.Equal(WorkerState.Offline, view.State);
        Assert.Equal(1, h.Engine.Stats().Workers["offline"]);
        await h.Engine.HeartbeatAsync(w, new HeartbeatRequest());
        Assert.Equal(WorkerState.Online, Assert.Single(h.Engine.Workers()).State);
    }

    [StoreFact]
    public async Task Deregister_puts_the_workers_leases_back_at_once_without_burning_attempts()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync();
        var b = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        await h.LeaseOneAsync(a);

        await h.Engine.DeregisterAsync(a);

        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Queued, view.State);
        Assert.Equal(0, view.Attempts);
        var lease = await h.LeaseOneAsync(b); // no clock movement needed
        Assert.Equal(1, lease.Attempt);
        Assert.Equal(WorkerState.Gone, h.Engine.Workers().Single(w => w.Id == a).State);
        Assert.Null(h.Engine.AuthenticateWorker(a + ".anything"));
    }

    [StoreFact]
    public async Task Cancelling_a_leased_task_surfaces_in_the_heartbeat_and_a_late_result_is_refused()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var lease = await h.LeaseOneAsync(w);

        var cancelled = await h.Engine.CancelAsync(id);
        Assert.Equal(TaskState.Cancelled, cancelled.State);

        var hb = await h.Engine.HeartbeatAsync(w, new HeartbeatRequest { InFlight = 1 });
        Assert.Equal([id], hb.CancelTaskIds);
        Assert.Empty((await h.Engine.HeartbeatAsync(w, new HeartbeatRequest())).CancelTaskIds); // said once
        var late = await Assert.ThrowsAsync<EngineException>(() => h.CompleteAsync(lease, w));
        Assert.Equal(EngineError.Conflict, late.Error);
        // The worker confirming it stopped is accepted and changes nothing.
        Assert.Equal(TaskState.Cancelled, (await h.FailAsync(lease, w, FailureKind.Cancelled)).State);
    }

    [StoreFact]
    public async Task Permanent_failure_fails_at_once()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        await h.SubmitAsync();
        var view = await h.FailAsync(await h.LeaseOneAsync(w), w, FailureKind.Permanent);
        Assert.Equal(TaskState.Failed, view.State);
        Assert.Equal(1, view.Attempts);
    }

    [StoreFact]
    public async Task Released_task_goes_back_at_once_without_an_attempt()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        await h.SubmitAsync();
        var view = await h.FailAsync(await h.LeaseOneAsync(w), w, FailureKind.Released);
        Assert.Equal(TaskState.Queued, view.State);
        Assert.Equal(0, view.Attempts);
        Assert.Equal(1, (await h.LeaseOneAsync(w)).Attempt);
    }

    [StoreFact]
    public async Task Task_past_its_deadline_fails_instead_of_being_leased()
    {
        await using var h = new EngineHarness(Store);
        var id = await h.SubmitAsync(deadline: h.Time.GetUtcNow().AddMinutes(1));
        h.Time.Advance(TimeSpan.FromMinutes(2));
        var w = await h.RegisterAsync();

        Assert.Empty(await h.LeaseAsync(w));
        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Failed, view.State);
        Assert.Equal("deadline passed", view.Reason);
    }

    [StoreFact]
    public async Task Same_idempotency_key_returns_the_same_task()
    {
        await using var h = new EngineHarness(Store);
        var first = await h.SubmitAsync(idempotencyKey: "batch-1/item-7");
        var (again, duplicate) = await h.Engine.SubmitAsync(
            new SubmitTaskRequest { Prompt = "other", IdempotencyKey = "batch-1/item-7" }, null, null);
        Assert.Equal(first, again.Id);
        Assert.True(duplicate);
        Assert.Equal(1, h.Engine.Stats().Tasks["queued"]);
    }

    [StoreFact]
    public async Task Waiting_lease_is_handed_a_task_the_moment_it_is_submitted()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var waiting = h.Engine.LeaseAsync(w, 4, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        var id = await h.SubmitAsync();

        var leases = await waiting.WaitAsync(TimeSpan.FromSeconds(30)); // the fake clock never moved
        Assert.Equal(id, Assert.Single(leases).TaskId);
    }

    [StoreFact]
    public async Task Waiting_lease_ends_empty_when_its_wait_runs_out()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var waiting = h.Engine.LeaseAsync(w, 1, TimeSpan.FromSeconds(30), CancellationToken.None);
        h.Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Empty(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [StoreFact]
    public async Task A_workers_token_authenticates_until_it_leaves_or_is_revoked_and_again_after_a_restart()
    {
        await using var h = new EngineHarness(Store);
        RegisterWorkerRequest Named(string name) => new() { Name = name, Provider = "ollama", Models = ["m"], MaxConcurrency = 1 };
        var stays = await h.Engine.RegisterAsync(Named("stays"));
        var leaves = await h.Engine.RegisterAsync(Named("leaves"));
        var revoked = await h.Engine.RegisterAsync(Named("revoked"));
        Assert.Equal(leaves.WorkerId, h.Engine.AuthenticateWorker(leaves.WorkerToken));
        Assert.Null(h.Engine.AuthenticateWorker(leaves.WorkerId + ".not-its-secret"));

        await h.Engine.DeregisterAsync(leaves.WorkerId);
        await h.Engine.RevokeAsync(revoked.WorkerId);

        Assert.Null(h.Engine.AuthenticateWorker(leaves.WorkerToken));
        Assert.Null(h.Engine.AuthenticateWorker(revoked.WorkerToken));
        Assert.Equal(stays.WorkerId, h.Engine.AuthenticateWorker(stays.WorkerToken));
        await h.RestartAsync();
        Assert.Equal(stays.WorkerId, h.Engine.AuthenticateWorker(stays.WorkerToken));
        Assert.Null(h.Engine.AuthenticateWorker(leaves.WorkerToken));
        Assert.Null(h.Engine.AuthenticateWorker(revoked.WorkerToken));
    }

    [StoreFact]
    public async Task Restart_keeps_queued_and_leased_tasks_and_the_workers_token()
    {
        await using var h = new EngineHarness(Store);
        var registered = await h.Engine.RegisterAsync(new RegisterWorkerRequest
        {
            Name = "w", Provider = "ollama", Models = ["m"], MaxConcurrency = 2,
        });
        var w = registered.WorkerId;
        var queued = await h.SubmitAsync("queued");
        var leasedId = await h.SubmitAsync("leased");
        await h.Engine.CancelAsync(queued); // make sure later states are stored too
        var stillQueued = await h.SubmitAsync("still queued", priority: 1);
        var lease = (await h.LeaseAsync(w, 1)).Single();
        Assert.Equal(leasedId, lease.TaskId);

        await h.RestartAsync();

        Assert.Equal(w, h.Engine.AuthenticateWorker(registered.WorkerToken));
        Assert.Equal(TaskState.Cancelled, (await h.GetAsync(queued)).State);
        Assert.Equal(TaskState.Queued, (await h.GetAsync(stillQueued)).State);
        Assert.Equal(TaskState.Leased, (await h.GetAsync(leasedId)).State);
        Assert.Equal(TaskState.Succeeded, (await h.CompleteAsync(lease, w)).State);
        Assert.Equal(stillQueued, (await h.LeaseOneAsync(w)).TaskId);
    }

    [StoreFact]
    public async Task Worker_counters_survive_a_restart()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        await h.SubmitAsync("ok");
        await h.SubmitAsync("bad");
        await h.CompleteAsync(await h.LeaseOneAsync(w), w);
        await h.FailAsync(await h.LeaseOneAsync(w), w, FailureKind.Permanent);

        await h.RestartAsync();

        var view = Assert.Single(h.Engine.Workers());
        Assert.Equal(1, view.TasksSucceeded);
        Assert.Equal(1, view.TasksFailed);
    }

    [StoreFact]
    public async Task Draining_or_unhealthy_worker_gets_no_new_tasks()
    {
        await using var h = new EngineHarness(Store);
        var draining = await h.RegisterAsync();
        var sick = await h.RegisterAsync();
        await h.SubmitAsync();

        await h.Engine.DrainAsync(draining);
        await h.Engine.HeartbeatAsync(sick, new HeartbeatRequest { Healthy = false, Status = "model missing" });

        Assert.Empty(await h.LeaseAsync(draining));
        Assert.Empty(await h.LeaseAsync(sick));
        Assert.True((await h.Engine.HeartbeatAsync(draining, new HeartbeatRequest())).Drain);
        Assert.Equal(WorkerState.Draining, h.Engine.Workers().Single(w => w.Id == draining).State);
        await h.Engine.HeartbeatAsync(sick, new HeartbeatRequest { Healthy = true });
        Assert.Single(await h.LeaseAsync(sick));
    }

    [StoreFact]
    public async Task Worker_never_holds_more_leases_than_its_max_concurrency()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync(concurrency: 2);
        for (var i = 0; i < 5; i++) await h.SubmitAsync($"t{i}");

        var first = await h.LeaseAsync(w, 5);
        Assert.Equal(2, first.Count);
        Assert.Empty(await h.LeaseAsync(w, 5));
        await h.CompleteAsync(first[0], w);
        Assert.Single(await h.LeaseAsync(w, 5));
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresSchedulingEngineTests : SchedulingEngineTests, IPostgresStoreTests;
