using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Tests.Orchestrator;

/// <summary>
/// A placement decision's cost does not grow with the number of workers measured faster than the one asking: with
/// hundreds of them, a slow worker's poll reads at most <see cref="FastestPlacement.FasterPoolLimit"/> (the fastest),
/// and still leaves a task to them when even those few would finish it sooner.
/// </summary>
[Trait("Category", "Unit")]
public class FasterPoolTests
{
    private const int FastWorkers = 200;

    [Fact]
    public async Task A_slow_workers_decision_reads_a_bounded_number_of_faster_workers_and_still_holds_for_them()
    {
        await using var h = new EngineHarness();
        var fast = new List<string>();
        for (var i = 0; i < FastWorkers; i++)
        {
            fast.Add(await RegisterAsync(h, $"fast-{i}"));
        }
        var slow = await RegisterAsync(h, "slow");
        // Each measured once on a 100-token task: the fast ones at 1,000 tokens/s (0.1 s), the slow one at 10 (10 s).
        foreach (var id in fast) await TeachAsync(h, id, TimeSpan.FromSeconds(0.1));
        await TeachAsync(h, slow, TimeSpan.FromSeconds(10));

        // Every fast worker busy with a 100-token task, and a backlog behind them.
        for (var i = 0; i < FastWorkers; i++) await SubmitAsync(h);
        foreach (var id in fast) await h.LeaseOneAsync(id);
        for (var i = 0; i < 50; i++) await SubmitAsync(h);

        var before = h.Engine.SpeedReads;
        var leases = await h.LeaseAsync(slow);
        var read = h.Engine.SpeedReads - before;

        // Even the 32 fastest finish the backlog long before the slow worker's 10 s: it leaves the head to them.
        Assert.Empty(leases);
        var head = h.Engine.List(TaskState.Queued, 1_000, null).Items[^1];
        Assert.StartsWith("held for the faster worker 'fast-", head.Reason);
        // One decision (the pool) and the reason (the first faster worker), not a read of the 200.
        Assert.InRange(read, 1, FastestPlacement.FasterPoolLimit + 1);
        Assert.True(read < FastWorkers / 4, $"{read} of {FastWorkers} faster workers read for one decision");
    }

    private static async Task<string> RegisterAsync(EngineHarness h, string name) =>
        (await h.Engine.RegisterAsync(new RegisterWorkerRequest { Name = name, Provider = "ollama", Models = ["m"], MaxConcurrency = 1 })).WorkerId;

    private static Task SubmitAsync(EngineHarness h) =>
        h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "t", MaxTokens = 100 }, null, null);

    /// <summary>One 100-token task leased and reported after <paramref name="took"/> on the fake clock (speeds are learned from that time).</summary>
    private static async Task TeachAsync(EngineHarness h, string worker, TimeSpan took)
    {
        await SubmitAsync(h);
        var lease = await h.LeaseOneAsync(worker);
        h.Time.Advance(took);
        await h.Engine.CompleteAsync(lease.TaskId, worker, new CompleteTaskRequest
        {
            LeaseId = lease.LeaseId, Content = new string('x', 100), Usage = new TokenUsage(5, 100, 105),
        });
    }
}
