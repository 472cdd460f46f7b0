using D8.Contracts;
using D8.Orchestrator.Scheduling;

using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>
/// Bounded memory: finished tasks leave memory once durable and are read back from SQLite; retention deletes old
/// ones; idempotency keys expire with their window; long-absent workers leave the fleet; a restarted worker
/// supersedes its old entry. Real SQLite temp file, fake clock.
/// </summary>
[Trait("Category", "Unit")]
public class RetentionTests : StoreTests
{
    private static async Task<(string Id, TaskView View)> RunToSuccessAsync(EngineHarness h, string worker, string prompt)
    {
        var id = await h.SubmitAsync(prompt);
        var lease = await h.LeaseOneAsync(worker);
        Assert.Equal(id, lease.TaskId);
        var view = await h.Engine.CompleteAsync(lease.TaskId, worker, new CompleteTaskRequest
        {
            LeaseId = lease.LeaseId, Content = "answer " + prompt, Usage = new TokenUsage(3, 4, null),
        });
        return (id, view);
    }

    [StoreFact]
    public async Task Finished_tasks_leave_memory_and_reads_of_them_come_from_the_store_unchanged()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var (done, atFinish) = await RunToSuccessAsync(h, w, "one");
        var queued = await h.SubmitAsync("still queued");
        await h.Engine.SweepAsync();

        Assert.Equal(1, h.Engine.TasksInMemory);
        var read = await h.GetAsync(done);
        Assert.Equal(TaskState.Succeeded, read.State);
        Assert.Equal("answer one", read.Result!.Content);
        Assert.Equal(atFinish.UpdatedAt, read.UpdatedAt);
        Assert.Equal(atFinish.Attempts, read.Attempts);
        Assert.Equal(TaskState.Queued, (await h.GetAsync(queued)).State);
        var waited = await h.Engine.GetAsync(done, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(TaskState.Succeeded, waited.State);
        var missing = await Assert.ThrowsAsync<EngineException>(() => h.GetAsync("no-such-task"));
        Assert.Equal(EngineError.NotFound, missing.Error);
    }

    [StoreFact]
    public async Task Listing_merges_live_tasks_from_memory_with_finished_ones_from_the_store()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            // Odd ones need a provider no worker serves, so they stay queued.
            ids.Add(i % 2 == 0 ? (await RunToSuccessAsync(h, w, $"t{i}")).Id : await h.SubmitAsync($"t{i}", provider: "groq"));
        }
        await h.Engine.SweepAsync();
        var cancelled = ids[1];
        await h.Engine.CancelAsync(cancelled);

        // Newest first across memory and store, two per page, every task exactly once.
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = h.Engine.List(null, 2, cursor is null ? null : long.Parse(cursor));
            seen.AddRange(page.Items.Select(t => t.Id));
            cursor = page.NextCursor;
        } while (cursor is not null);
        Assert.Equal(Enumerable.Reverse(ids), seen);

        Assert.Equal([ids[4], ids[2], ids[0]], h.Engine.List(TaskState.Succeeded, 10, null).Items.Select(t => t.Id));
        Assert.Equal([cancelled], h.Engine.List(TaskState.Cancelled, 10, null).Items.Select(t => t.Id));
        Assert.Equal([ids[3]], h.Engine.List(TaskState.Queued, 10, null).Items.Select(t => t.Id));
        var firstSucceeded = h.Engine.List(TaskState.Succeeded, 1, null);
        Assert.Equal([ids[2]], h.Engine.List(TaskState.Succeeded, 1, long.Parse(firstSucceeded.NextCursor!)).Items.Select(t => t.Id));
    }

    [StoreFact]
    public async Task A_late_report_on_a_finished_task_is_answered_from_the_store()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var lease = await h.LeaseOneAsync(w);
        await h.CompleteAsync(lease, w, "first");
        await h.Engine.SweepAsync();
        Assert.Equal(0, h.Engine.TasksInMemory);

        var again = await h.CompleteAsync(lease, w, "second");
        Assert.Equal("first", again.Result!.Content);
        var fail = await h.FailAsync(lease, w, FailureKind.Transient);
        Assert.Equal(TaskState.Succeeded, fail.State);
        var stale = await Assert.ThrowsAsync<EngineException>(() =>
            h.Engine.CompleteAsync(id, w, new CompleteTaskRequest { LeaseId = "other-lease", Content = "x" }));
        Assert.Equal(EngineError.Conflict, stale.Error);
        var cancel = await Assert.ThrowsAsync<EngineException>(() => h.Engine.CancelAsync(id));
        Assert.Equal(EngineError.Conflict, cancel.Error);
    }

    [StoreFact]
    public async Task Restart_loads_only_live_tasks_and_keeps_counts_tokens_and_worker_counters()
    {
        await using var h = new EngineHarness(Store);
        var w = await h.RegisterAsync();
        for (var i = 0; i < 3; i++) await RunToSuccessAsync(h, w, $"t{i}");
        var live = await h.SubmitAsync("live");
        await h.RestartAsync();

        Assert.Equal(1, h.Engine.TasksInMemory);
        var stats = h.Engine.Stats();
        Assert.Equal(3, stats.Tasks["succeeded"]);
        Assert.Equal(1, stats.Tasks["queued"]);
        Assert.Equal(21, stats.TokensReported);
        Assert.Equal(3, Assert.Single(h.Engine.Workers()).TasksSucceeded);
        Assert.Equal(live, (await h.LeaseOneAsync(w)).TaskId);
        Assert.Equal(4, h.Engine.List(null, 10, null).Items.Count);
    }

    [StoreFact]
    public async Task Retention_deletes_old_finished_tasks_in_batches_and_leaves_live_and_recent_ones()
    {
        await using var h = new EngineHarness(Store, retention: TimeSpan.FromDays(7), retentionBatch: 2,
            forgetWorkersAfter: TimeSpan.FromDays(30));
        var w = await h.RegisterAsync();
        var old = new List<string>();
        for (var i = 0; i < 5; i++) old.Add((await RunToSuccessAsync(h, w, $"old{i}")).Id);
        var queuedLongAgo = await h.SubmitAsync("queued for ages", provider: "groq");
        await h.AdvanceAsync(TimeSpan.FromDays(6));
        var recent = (await RunToSuccessAsync(h, w, "recent")).Id;
        await h.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));

        Assert.Equal(5, await h.Engine.PurgeFinishedAsync(CancellationToken.None));

        foreach (var id in old)
        {
            var gone = await Assert.ThrowsAsync<EngineException>(() => h.GetAsync(id));
            Assert.Equal(EngineError.NotFound, gone.Error);
        }
        Assert.Equal(TaskState.Succeeded, (await h.GetAsync(recent)).State);
        Assert.Equal(TaskState.Queued, (await h.GetAsync(queuedLongAgo)).State);
        Assert.Equal(1, h.Engine.Stats().Tasks["succeeded"]);
        Assert.Equal(0, await h.Engine.PurgeFinishedAsync(CancellationToken.None));
        await h.RestartAsync();
        Assert.Equal(1, h.Engine.Stats().Tasks["succeeded"]);
    }

    [StoreFact]
    public async Task Idempotency_key_names_a_finished_task_within_the_window_and_is_forgotten_after_it()
    {
        await using var h = new EngineHarness(Store, idempotencyWindow: TimeSpan.FromHours(1));
        var w = await h.RegisterAsync();
        var first = await h.SubmitAsync(idempotencyKey: "job-1");
        var lease = await h.LeaseOneAsync(w);
        await h.CompleteAsync(lease, w);
        await h.Engine.SweepAsync();

        var (dup, duplicate) = await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", IdempotencyKey = "job-1" }, null, null);
        Assert.True(duplicate);
        Assert.Equal(first, dup.Id);
        Assert.Equal(TaskState.Succeeded, dup.State);

        await h.RestartAsync();
        Assert.Equal(first, await h.SubmitAsync(idempotencyKey: "job-1"));

        await h.AdvanceAsync(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var (fresh, again) = await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "p", IdempotencyKey = "job-1" }, null, null);
        Assert.False(again);
        Assert.NotEqual(first, fresh.Id);
    }

    [StoreFact]
    public async Task A_live_task_keeps_its_idempotency_key_past_the_window()
    {
        await using var h = new EngineHarness(Store, idempotencyWindow: TimeSpan.FromMinutes(5));
        var id = await h.SubmitAsync(idempotencyKey: "slow");
        await h.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Equal(id, await h.SubmitAsync(idempotencyKey: "slow"));
    }

    [StoreFact]
    public async Task Memory_after_a_burst_holds_only_what_is_live()
    {
        await using var h = new EngineHarness(Store, idempotencyWindow: TimeSpan.FromHours(1));
        var models = Enumerable.Range(0, 20).Select(i => $"model-{i}").ToArray();
        var w = await h.RegisterAsync(models: models, concurrency: 100);
        for (var i = 0; i < 20; i++)
        {
            await h.SubmitAsync($"t{i}", model: models[i], idempotencyKey: $"key-{i}");
        }
        var stillQueued = await h.SubmitAsync("for a model nobody serves", model: "other");
        foreach (var lease in await h.LeaseAsync(w, 20))
        {
            await h.CompleteAsync(lease, w);
        }
        await h.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Equal(new EngineFootprint(Tasks: 1, RoutingQueues: 1, IdempotencyKeys: 0, Workers: 1), h.Engine.Footprint());
        Assert.Equal(TaskState.Queued, (await h.GetAsync(stillQueued)).State);
        // A dropped queue comes back when a task needs it.
        var again = await h.SubmitAsync("again", model: models[3]);
        await h.Engine.HeartbeatAsync(w, new HeartbeatRequest());
        Assert.Equal(again, (await h.LeaseOneAsync(w)).TaskId);
    }

    [StoreFact]
    public async Task Workers_offline_or_gone_longer_than_the_forget_age_leave_the_fleet()
    {
        await using var h = new EngineHarness(Store, forgetWorkersAfter: TimeSpan.FromHours(24));
        var silent = await h.RegisterAsync("ollama");
        var left = await h.RegisterAsync("groq");
        var active = await h.RegisterAsync("gemini");
        await h.Engine.DeregisterAsync(left);
        await h.AdvanceAsync(TimeSpan.FromSeconds(31));
        Assert.Equal(WorkerState.Offline, h.Engine.Workers().Single(x => x.Id == silent).State);

        for (var i = 0; i < 25; i++)
        {
            await h.Engine.HeartbeatAsync(active, new HeartbeatRequest());
            await h.AdvanceAsync(TimeSpan.FromHours(1));
        }

        Assert.Equal([active], h.Engine.Workers().Select(x => x.Id));
        await h.Engine.HeartbeatAsync(active, new HeartbeatRequest());
        Assert.Equal(1, h.Engine.Stats().Workers.Values.Sum());
        await h.RestartAsync();
        Assert.Equal([active], h.Engine.Workers().Select(x => x.Id));
    }

    [StoreFact]
    public async Task A_worker_registering_again_from_the_same_host_supersedes_its_old_entry()
    {
        await using var h = new EngineHarness(Store);
        var request = new RegisterWorkerRequest
        {
            Name = "pi-kitchen", Provider = "ollama", Models = ["deepseek-coder:1.3b"], MaxConcurrency = 1,
            Host = new HostInfo("arm64", 4, 4096, "linux"),
        };
        var old = await h.Engine.RegisterAsync(request, "192.168.1.20");
        var (done, _) = await RunToSuccessAsync(h, old.WorkerId, "before restart");
        var held = await h.SubmitAsync("held by the old process");
        var lease = await h.LeaseOneAsync(old.WorkerId);
        var other = await h.Engine.RegisterAsync(request with { Name = "pi-garage" }, "192.168.1.20");
        var elsewhere = await h.Engine.RegisterAsync(request, "192.168.1.21");

        var fresh = await h.Engine.RegisterAsync(request, "192.168.1.20");

        var fleet = h.Engine.Workers();
        Assert.Equal(3, fleet.Count);
        Assert.DoesNotContain(fleet, x => x.Id == old.WorkerId);
        Assert.Equal(1, fleet.Single(x => x.Id == fresh.WorkerId).TasksSucceeded);
        Assert.Contains(fleet, x => x.Id == other.WorkerId);
        Assert.Contains(fleet, x => x.Id == elsewhere.WorkerId);
        Assert.Null(h.Engine.AuthenticateWorker(old.WorkerToken));
        var back = await h.GetAsync(held);
        Assert.Equal(TaskState.Queued, back.State);
        Assert.Equal(0, back.Attempts);
        Assert.NotNull(lease);
        Assert.Equal(TaskState.Succeeded, (await h.GetAsync(done)).State);
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresRetentionTests : RetentionTests, IPostgresStoreTests;

/// <summary>A database written before finished tasks left memory is upgraded once when the store opens.</summary>
[Trait("Category", "Unit")]
public class StoreUpgradeTests
{
    [Fact]
    public async Task An_old_database_gets_its_indexed_columns_token_total_and_worker_counters_from_the_json_rows()
    {
        string db;
        string done, queued, worker;
        await using (var h = new EngineHarness())
        {
            worker = await h.RegisterAsync();
            done = await h.SubmitAsync("finished before the upgrade");
            var lease = await h.LeaseOneAsync(worker);
            await h.Engine.CompleteAsync(lease.TaskId, worker, new CompleteTaskRequest
            {
                LeaseId = lease.LeaseId, Content = "old answer", Usage = new TokenUsage(10, 20, 30),
            });
            queued = await h.SubmitAsync("queued before the upgrade", idempotencyKey: "old-key");
            db = h.Options.DbPath;
            await h.CloseStoreAsync();
            Downgrade(db);

            await h.RestartAsync();
            var stats = h.Engine.Stats();
            Assert.Equal(1, stats.Tasks["succeeded"]);
            Assert.Equal(1, stats.Tasks["queued"]);
            Assert.Equal(30, stats.TokensReported);
            Assert.Equal(1, Assert.Single(h.Engine.Workers()).TasksSucceeded);
            Assert.Equal("old answer", (await h.GetAsync(done)).Result!.Content);
            Assert.Equal(queued, await h.SubmitAsync(idempotencyKey: "old-key"));
            Assert.Equal(2, h.Engine.List(null, 10, null).Items.Count);
        }
    }

    /// <summary>Turns the file back into the old layout: no indexed columns, no meta table, counters never written, no schema version.</summary>
    private static void Downgrade(string db)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            DROP INDEX tasks_seq; DROP INDEX tasks_finished_at; DROP INDEX tasks_idem;
            ALTER TABLE tasks DROP COLUMN idem_key; ALTER TABLE tasks DROP COLUMN created_at; ALTER TABLE tasks DROP COLUMN finished_at;
            DROP TABLE meta;
            UPDATE workers SET data = json_set(data, '$.tasks_succeeded', 0, '$.tasks_failed', 0);
            PRAGMA user_version = 0;
            """;
        cmd.ExecuteNonQuery();
    }
}
