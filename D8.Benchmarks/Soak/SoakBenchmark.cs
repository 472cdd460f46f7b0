using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using D8.Benchmarks.Dispatch;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Soak;

/// <summary>
/// Memory over a long run: N tasks (default 1,000,000) submit → lease → complete through the real orchestrator
/// process, printing its RSS and throughput every 100,000 tasks; then a restart on the same database (start-up time
/// with every finished task in it) and a short dispatch run after it.
/// </summary>
internal static class SoakBenchmark
{
    private const int Report = 100_000;
    private const int Submitters = 32, Workers = 4, PollersPerWorker = 4, LeaseMax = 32;
    // Submitters stay at most this far ahead of completions, as a client waiting on results would.
    private const int InFlight = 4096;

    public static async Task<int> RunAsync(string[] args)
    {
        var total = IntArg(args, "--tasks", 1_000_000);
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        await using var store = await BenchStore.StartAsync(args);
        Console.WriteLine($"D8 soak benchmark — {total} tasks, {Environment.ProcessorCount} cores, orchestrator {configuration} build, {store.Description}, load {Load()}");
        var db = TempDatabase.NewPath("soak", "d8-bench");
        var apiKey = "soak-key-" + Guid.NewGuid().ToString("N");
        var join = "soak-join-" + Guid.NewGuid().ToString("N");
        try
        {
            double peak, final, rate;
            string breakdown;
            await using (var orch = await OrchestratorProcess.StartAsync(db, apiKey, join, store.Apply()))
            {
                (peak, final, rate, breakdown) = await SoakAsync(orch, total);
                await orch.KillAsync();
            }
            Console.WriteLine($"soak: {total} tasks, peak RSS {peak:F0} MB, final RSS {final:F0} MB, {rate:F0} tasks/s");
            Console.WriteLine($"soak: {breakdown}");

            var clock = Stopwatch.StartNew();
            await using (var restarted = await OrchestratorProcess.StartAsync(db, apiKey, join, store.Apply()))
            {
                var startup = clock.Elapsed;
                Console.WriteLine($"restart with {total} finished tasks in the database: healthy after {startup.TotalSeconds:F2} s " +
                                  $"(process start → /health 200), RSS {restarted.RssMb():F0} MB, load {Load()}");
                var after = await RunPhaseAsync(restarted, 20_000, new StrongBox<int>(), null);
                Console.WriteLine($"dispatch after restart : {after:F0} tasks/s (20000 tasks), RSS {restarted.RssMb():F0} MB, peak {restarted.PeakRssMb():F0} MB");
            }
            return 0;
        }
        finally
        {
            TempDatabase.Delete(db);
        }
    }

    private static async Task<(double Peak, double Final, double Rate, string Breakdown)> SoakAsync(OrchestratorProcess orch, int total)
    {
        var last = Stopwatch.GetTimestamp();
        var completed = new StrongBox<int>();
        var sampler = RssSampler.Start(orch.Pid, () => Volatile.Read(ref completed.Value));
        double rate;
        try
        {
            rate = await RunPhaseAsync(orch, total, completed, done =>
            {
                var now = Stopwatch.GetTimestamp();
                var interval = Report / Stopwatch.GetElapsedTime(last, now).TotalSeconds;
                last = now;
                Console.WriteLine($"{done,9} tasks: RSS {orch.RssMb(),4:F0} MB (peak {orch.PeakRssMb():F0} MB), {interval:F0} tasks/s, load {Load()}");
            });
        }
        finally
        {
            await sampler.DisposeAsync();
        }
        return (orch.PeakRssMb(), orch.RssMb(), rate, sampler.Describe());
    }

    /// <summary>
    /// Runs <paramref name="total"/> tasks through, counting them in <paramref name="completed"/>; calls
    /// <paramref name="progress"/> every 100,000.
    /// </summary>
    private static async Task<double> RunPhaseAsync(OrchestratorProcess orch, int total, StrongBox<int> completed, Action<int>? progress)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler, disposeHandler: false) { BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(100) };
        var client = new OrchestratorClient(http) { ApiKey = orch.ApiKey, JoinToken = orch.JoinToken };
        var workers = new List<WorkerClient>();
        for (var i = 0; i < Workers; i++)
        {
            var registration = await client.RegisterAsync(new RegisterWorkerRequest { Name = $"soak-{i}", Provider = "ollama", Models = ["m"], MaxConcurrency = 1024 });
            workers.Add(client.AsWorker(registration));
        }
        using var window = new SemaphoreSlim(InFlight);
        var submitted = 0;
        var nextReport = Report;
        var reportLock = new Lock();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var pollers = LeasePollers.Start(workers, PollersPerWorker, LeaseMax, count =>
        {
            window.Release(count);
            var done = Interlocked.Add(ref completed.Value, count);
            lock (reportLock)
            {
                while (progress is not null && done >= nextReport)
                {
                    progress(nextReport);
                    nextReport += Report;
                }
            }
            if (done >= total) stop.Cancel();
        }, stop.Token);
        var submitLoops = Enumerable.Range(0, Submitters).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref submitted) <= total)
            {
                await window.WaitAsync();
                await client.SubmitAsync(new SubmitTaskRequest { Prompt = "soak", MaxTokens = 16 });
            }
        })).ToArray();
        await Task.WhenAll(submitLoops);
        await Task.WhenAll(pollers);
        clock.Stop();
        foreach (var w in workers) await w.DeregisterAsync();
        return total / clock.Elapsed.TotalSeconds;
    }

    private static string Load() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static int IntArg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
