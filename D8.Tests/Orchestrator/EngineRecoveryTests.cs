using D8.Contracts;
using D8.Orchestrator.Scheduling;
using Microsoft.Extensions.Logging.Abstractions;

using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>
/// Recovery paths of the engine on a fake clock: the lease grace after a restart that comes after a lease's expiry
/// time, and the retention timer of <see cref="EngineSweeper"/> firing by itself.
/// </summary>
[Trait("Category", "Unit")]
public class EngineRecoveryTests : StoreTests
{
    [StoreFact]
    public async Task A_restart_after_a_leases_expiry_time_keeps_the_task_leased_to_its_heartbeating_worker()
    {
        await using var h = new EngineHarness(Store);
        var worker = await h.RegisterAsync();
        var id = await h.SubmitAsync("survives the outage");
        var lease = await h.LeaseOneAsync(worker);

        // The orchestrator is down (no sweep) past the lease's expiry time (60 s), then starts again.
        h.Time.Advance(h.Options.LeaseDuration + TimeSpan.FromSeconds(30));
        await h.RestartAsync();
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        var afterRestart = await h.GetAsync(id);
        // The worker's next heartbeat names the lease; it stays the worker's for a whole lease again.
        var heartbeat = await h.Engine.HeartbeatAsync(worker, new HeartbeatRequest { InFlight = 1, LeaseIds = [lease.LeaseId] });
        await h.AdvanceAsync(h.Options.LeaseDuration - TimeSpan.FromSeconds(5));
        var stillLeased = await h.GetAsync(id);
        var done = await h.CompleteAsync(lease, worker, "finished after the restart");

        Assert.Equal(TaskState.Leased, afterRestart.State);
        Assert.Equal(worker, afterRestart.LeasedBy);
        Assert.Empty(heartbeat.LostLeases);
        Assert.Equal(TaskState.Leased, stillLeased.State);
        Assert.Equal(worker, stillLeased.LeasedBy);
        Assert.Equal(TaskState.Succeeded, done.State);
        Assert.Equal(1, done.Attempts);
    }

    [StoreFact]
    public async Task The_retention_timer_purges_old_finished_tasks_by_itself()
    {
        await using var h = new EngineHarness(Store, retention: TimeSpan.FromDays(1), forgetWorkersAfter: TimeSpan.FromDays(30));
        var worker = await h.RegisterAsync();
        var id = await h.SubmitAsync("old news");
        await h.CompleteAsync(await h.LeaseOneAsync(worker), worker);
        // One sweep, so the finished task leaves memory and lives in the store only, where retention deletes it.
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        using var sweeper = new EngineSweeper(h.Engine, h.Options, h.Time, NullLogger<EngineSweeper>.Instance);
        await sweeper.StartAsync(CancellationToken.None);

        // Past the retention age: the next retention tick (every D8_RETENTION_INTERVAL_SECONDS) deletes the task.
        h.Time.Advance(TimeSpan.FromDays(1));
        var gone = await WaitUntilGoneAsync(h, id);
        await sweeper.StopAsync(CancellationToken.None);

        Assert.Equal(EngineError.NotFound, gone.Error);
        Assert.Equal(0, h.Engine.Stats().Tasks["succeeded"]);
    }

    /// <summary>
    /// Moves the clock one retention interval at a time until the purge has run, with a deadline: the sweeper's timers
    /// are made on its own task (BackgroundService runs ExecuteAsync in the background), so the first move may come
    /// before they exist; each later one is a tick.
    /// </summary>
    private static async Task<EngineException> WaitUntilGoneAsync(EngineHarness h, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await h.GetAsync(id);
            }
            catch (EngineException e) when (e.Error == EngineError.NotFound)
            {
                return e;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"task {id} was not purged by the retention timer");
            h.Time.Advance(h.Options.RetentionInterval);
            await Task.Delay(20); // polling interval for a condition with a deadline (the purge is on the sweeper's task)
        }
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresEngineRecoveryTests : EngineRecoveryTests, IPostgresStoreTests;
