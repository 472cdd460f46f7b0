using D8.Contracts;
using D8.Orchestrator.Scheduling;

using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>
/// A lease its worker no longer holds (the lease answer was lost when the orchestrator was killed, or the worker gave up
/// reporting) is not kept alive by that worker's heartbeats for ever: it goes back to the queue, without an attempt.
/// </summary>
[Trait("Category", "Unit")]
public class OrphanLeaseTests : StoreTests
{
    [StoreFact]
    public async Task A_lease_left_out_of_the_holders_heartbeats_goes_back_to_the_queue_without_an_attempt()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        var lease = await h.LeaseOneAsync(a);
        var beat = h.Options.HeartbeatInterval;

        // Fresh leases whose answer may still be on its way are never taken back, however many heartbeats miss them.
        for (var i = 0; i < SchedulingEngine.OrphanBeats + 1; i++)
        {
            await h.Engine.HeartbeatAsync(a, new HeartbeatRequest { LeaseIds = [] });
        }
        Assert.Equal(TaskState.Leased, (await h.GetAsync(id)).State);

        // Later, a listed lease is extended; one left out of OrphanBeats heartbeats in a row is taken back.
        await h.AdvanceAsync(beat * SchedulingEngine.OrphanBeats);
        await h.Engine.HeartbeatAsync(a, new HeartbeatRequest { LeaseIds = [lease.LeaseId] });
        for (var i = 0; i < SchedulingEngine.OrphanBeats - 1; i++)
        {
            await h.Engine.HeartbeatAsync(a, new HeartbeatRequest { LeaseIds = [] });
            Assert.Equal(TaskState.Leased, (await h.GetAsync(id)).State);
        }
        await h.Engine.HeartbeatAsync(a, new HeartbeatRequest { LeaseIds = [] });
        var view = await h.GetAsync(id);
        Assert.Equal(TaskState.Queued, view.State);
        Assert.Equal(0, view.Attempts);

        // The old lease is dead; the task runs again as its first counted attempt.
        var stale = await Assert.ThrowsAsync<EngineException>(() => h.CompleteAsync(lease, a));
        Assert.Equal(EngineError.Conflict, stale.Error);
        var again = await h.LeaseOneAsync(a);
        Assert.Equal(id, again.TaskId);
        Assert.Equal(1, again.Attempt);
    }

    [StoreFact]
    public async Task A_worker_that_does_not_list_its_leases_keeps_them()
    {
        await using var h = new EngineHarness(Store);
        var a = await h.RegisterAsync();
        var id = await h.SubmitAsync();
        await h.LeaseOneAsync(a);
        for (var i = 0; i < SchedulingEngine.OrphanBeats * 2; i++)
        {
            await h.AdvanceAsync(h.Options.HeartbeatInterval);
            await h.Engine.HeartbeatAsync(a, new HeartbeatRequest());
        }
        Assert.Equal(TaskState.Leased, (await h.GetAsync(id)).State);
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresOrphanLeaseTests : OrphanLeaseTests, IPostgresStoreTests;
