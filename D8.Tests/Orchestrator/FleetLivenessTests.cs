using D8.Contracts;

namespace D8.Tests.Orchestrator;

/// <summary>
/// The fastest scheduler's liveness over randomised fleets, at engine level with a fake clock: after every recheck
/// interval, while a worker that could run it is parked idle, the task first in line is either leased or held for a
/// strictly faster worker that its reason names; equally fast workers never hold a task back from each other; every
/// task finishes.
/// </summary>
public class FleetLivenessTests
{
    private sealed class SimWorker(string id, double tps)
    {
        public string Id { get; } = id;
        public double Tps { get; } = tps;
        public Task<IReadOnlyList<TaskLease>>? Poll { get; set; }
        public List<(TaskLease Lease, int Tokens, DateTimeOffset DoneAt)> Running { get; } = [];
    }

    public static TheoryData<int, bool> Fleets()
    {
        var data = new TheoryData<int, bool>();
        for (var seed = 1; seed <= 6; seed++)
        {
            data.Add(seed, true);
            data.Add(seed, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Fleets))]
    public async Task A_ready_task_never_waits_a_recheck_for_an_idle_worker_unless_held_for_a_faster_one(int seed, bool homogeneous)
    {
        var random = new Random(seed);
        await using var h = new EngineHarness();
        var recheck = h.Options.SchedulerRecheck;
        var speeds = homogeneous ? new[] { 100.0 } : new[] { 10.0, 40.0, 100.0, 400.0 };
        var workers = new List<SimWorker>();
        for (var i = 0; i < random.Next(8, 40); i++)
        {
            var r = await h.Engine.RegisterAsync(new RegisterWorkerRequest
            {
                Name = $"w{i}", Provider = "ollama", Models = ["m"], MaxConcurrency = 1,
            });
            workers.Add(new SimWorker(r.WorkerId, speeds[random.Next(speeds.Length)]));
        }
        var byId = workers.ToDictionary(w => w.Id);
        // Every worker is measured first: one task each, reported at its speed.
        foreach (var w in workers)
        {
            await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "teach", MaxTokens = 100 }, null, null);
            var lease = await h.LeaseOneAsync(w.Id);
            await CompleteAsync(h, w, lease, 100);
        }
        var total = random.Next(30, 150);
        for (var i = 0; i < total; i++)
        {
            await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "t", MaxTokens = random.Next(20, 400) }, null, null);
        }
        foreach (var w in workers) w.Poll = Poll(h, w);

        var held = 0;
        for (var step = 0; step < 5000 && !AllDone(h); step++)
        {
            h.Time.Advance(recheck);
            await SettleAsync(h, workers);
            var now = h.Time.GetUtcNow();
            foreach (var w in workers)
            {
                foreach (var run in w.Running.Where(r => r.DoneAt <= now).ToList())
                {
                    w.Running.Remove(run);
                    await CompleteAsync(h, w, run.Lease, run.Tokens);
                }
                if (w.Poll is null && w.Running.Count == 0) w.Poll = Poll(h, w);
            }
            await SettleAsync(h, workers);

            // The property, checked right after the engine's recheck pass had its interval.
            h.Time.Advance(recheck);
            await SettleAsync(h, workers);
            var leased = h.Engine.List(TaskState.Leased, 10_000, null).Items.Select(v => v.LeasedBy).ToHashSet();
            var idle = workers.Where(w => w.Poll is { IsCompleted: false } && w.Running.Count == 0 && !leased.Contains(w.Id)).ToList();
            var queued = h.Engine.List(TaskState.Queued, 10_000, null).Items;
            if (idle.Count == 0 || queued.Count == 0) continue;
            var first = queued[^1]; // newest first: the last is first in line (one priority)
            Assert.False(homogeneous, $"step {step}: task {first.Id} queued while {idle.Count} equally fast workers are parked idle");
            Assert.NotNull(first.Reason);
            Assert.StartsWith("held for the faster worker", first.Reason);
            var named = workers.Single(w => first.Reason!.Contains($"({w.Id})", StringComparison.Ordinal));
            Assert.True(idle.All(w => named.Tps > w.Tps), $"step {step}: {first.Reason}; idle speeds {string.Join(',', idle.Select(w => w.Tps))}");
            held++;
        }

        Assert.True(AllDone(h), "every task finishes");
        if (homogeneous) Assert.Equal(0, held);
    }

    /// <summary>Starts a worker's long-poll (it parks in the engine until a lease or its 30 s wait).</summary>
    private static Task<IReadOnlyList<TaskLease>> Poll(EngineHarness h, SimWorker w) =>
        h.Engine.LeaseAsync(w.Id, 1, TimeSpan.FromSeconds(30), CancellationToken.None);

    /// <summary>Collects the polls that answered (a lease starts running, an empty answer polls again).</summary>
    private static async Task SettleAsync(EngineHarness h, List<SimWorker> workers)
    {
        var leased = h.Engine.List(TaskState.Leased, 10_000, null).Items;
        foreach (var w in workers)
        {
            if (w.Poll is null) continue;
            // A poll handed a lease answers once its commit is durable: wait for it (a signal, not a sleep).
            if (!w.Poll.IsCompleted && leased.Any(v => v.LeasedBy == w.Id) && w.Running.Count == 0)
            {
                await w.Poll.WaitAsync(TimeSpan.FromSeconds(30));
            }
            if (!w.Poll.IsCompleted) continue;
            var leases = await w.Poll;
            w.Poll = null;
            var now = h.Time.GetUtcNow();
            foreach (var lease in leases)
            {
                var tokens = lease.MaxTokens ?? 256;
                w.Running.Add((lease, tokens, now + TimeSpan.FromSeconds(tokens / w.Tps)));
            }
            if (w.Running.Count == 0) w.Poll = Poll(h, w);
        }
    }

    private static async Task CompleteAsync(EngineHarness h, SimWorker w, TaskLease lease, int tokens)
    {
        try
        {
            await h.Engine.CompleteAsync(lease.TaskId, w.Id, new CompleteTaskRequest
            {
                LeaseId = lease.LeaseId, Content = "ok", Usage = new TokenUsage(5, tokens, tokens + 5),
                TimeToFirstTokenMs = 0, DurationMs = tokens / w.Tps * 1000, TokensPerSecond = w.Tps,
            });
        }
        catch (D8.Orchestrator.Scheduling.EngineException)
        {
            // The other run of a copied task won: this one's lease is gone.
        }
    }

    private static bool AllDone(EngineHarness h) =>
        h.Engine.List(TaskState.Queued, 1, null).Items.Count == 0 && h.Engine.List(TaskState.Leased, 1, null).Items.Count == 0;
}
