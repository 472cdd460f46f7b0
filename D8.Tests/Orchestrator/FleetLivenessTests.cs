using D8.Contracts;

namespace D8.Tests.Orchestrator;

/// <summary>
/// The fastest scheduler's liveness over randomised fleets, at engine level with a fake clock: after every recheck
/// interval, while a worker that could run it is parked idle, the task first in line is either leased or held for a
/// strictly faster worker that its reason names; equally fast workers never hold a task back from each other; every
/// task finishes.
/// </summary>
[Trait("Category", "Unit")]
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
        // Every worker is measured first: one task each, reported after it ran at its speed (the engine learns from
        // the time between lease and report, not from the reported figures).
        foreach (var w in workers)
        {
            await h.Engine.SubmitAsync(new SubmitTaskRequest { Prompt = "teach", MaxTokens = 100 }, null, null);
            var lease = await h.LeaseOneAsync(w.Id);
            h.Time.Advance(TimeSpan.FromSeconds(100 / w.Tps));
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
            await PassAsync(h, workers, recheck);

            // The property, checked right after the engine's recheck pass had its interval: over the polls parked for
            // the whole interval, for the task first in line over the whole interval or already held (a run reported
            // during it parks a fresh poll, and lets the next task move up, that the pass has not looked at yet).
            var parked = workers.Where(w => w.Poll is { IsCompleted: false } && w.Running.Count == 0).ToDictionary(w => w, w => w.Poll);
            var headBefore = h.Engine.List(TaskState.Queued, 10_000, null).Items.LastOrDefault()?.Id;
            await PassAsync(h, workers, recheck);
            var leased = h.Engine.List(TaskState.Leased, 10_000, null).Items.Select(v => v.LeasedBy).ToHashSet();
            var idle = workers.Where(w => w.Poll is { IsCompleted: false } && w.Running.Count == 0 && !leased.Contains(w.Id)
                && parked.TryGetValue(w, out var poll) && ReferenceEquals(poll, w.Poll)).ToList();
            var queued = h.Engine.List(TaskState.Queued, 10_000, null).Items;
            if (idle.Count == 0 || queued.Count == 0) continue;
            var first = queued[^1]; // newest first: the last is first in line (one priority)
            if (first.Id != headBefore && first.Reason is null) continue;
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

    /// <summary>
    /// Lets <paramref name="span"/> pass on the fake clock, each run reported the moment it finishes: the engine learns
    /// speeds from the time between lease and report, so a run reported late would teach a slower speed than the
    /// worker's, and equally fast workers would be measured apart.
    /// </summary>
    private static async Task PassAsync(EngineHarness h, List<SimWorker> workers, TimeSpan span)
    {
        var end = h.Time.GetUtcNow() + span;
        while (true)
        {
            await SettleAsync(h, workers);
            var next = workers.SelectMany(w => w.Running.Select(r => (Worker: w, Run: r)))
                .Where(x => x.Run.DoneAt <= end).OrderBy(x => x.Run.DoneAt).FirstOrDefault();
            if (next.Worker is null) break;
            var now = h.Time.GetUtcNow();
            if (next.Run.DoneAt > now)
            {
                h.Time.Advance(next.Run.DoneAt - now);
                continue; // polls answered on the way start running first
            }
            next.Worker.Running.Remove(next.Run);
            await CompleteAsync(h, next.Worker, next.Run.Lease, next.Run.Tokens);
            if (next.Worker.Poll is null && next.Worker.Running.Count == 0) next.Worker.Poll = Poll(h, next.Worker);
        }
        var left = end - h.Time.GetUtcNow();
        if (left > TimeSpan.Zero) h.Time.Advance(left);
        await SettleAsync(h, workers);
    }

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
            foreach (var lease in leases)
            {
                // The run started when the engine granted the lease (its expiry less the lease duration).
                var tokens = lease.MaxTokens ?? 256;
                w.Running.Add((lease, tokens, lease.ExpiresAt - h.Options.LeaseDuration + TimeSpan.FromSeconds(tokens / w.Tps)));
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
                LeaseId = lease.LeaseId, Content = new string('x', tokens), Usage = new TokenUsage(5, tokens, tokens + 5),
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
