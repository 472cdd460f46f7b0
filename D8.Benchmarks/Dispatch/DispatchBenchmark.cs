using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using D8.Contracts;

namespace D8.Benchmarks.Dispatch;

/// <summary>
/// End-to-end dispatch through the real orchestrator process over HTTP: throughput (submit → lease → complete with
/// many submitters and workers) and submit-to-lease latency at a moderate rate with one long-polling worker.
/// </summary>
internal static class DispatchBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var tasks = IntArg(args, "--tasks", 20_000);
        var rate = IntArg(args, "--rate", 200);
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        await using var store = await BenchStore.StartAsync(args);
        Console.WriteLine($"D8 dispatch benchmark — {Environment.ProcessorCount} cores, orchestrator {configuration} build as a child process, {store.Description}");
        // Other work on the machine shares these cores with both the orchestrator and the load generator.
        if (File.Exists("/proc/loadavg"))
        {
            Console.WriteLine($"load average before   : {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }

        await using var orch = await OrchestratorProcess.StartAsync(settings: store.Apply());
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler, disposeHandler: false) { BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(100) };

        await WarmUpAsync(http, orch);
        // Steady state, not start-up: the same workload once unmeasured lets tiered JIT finish optimising the hot paths.
        await ThroughputAsync(http, orch, tasks);
        var cpu0 = orch.CpuTime();
        var self0 = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var throughput = await ThroughputAsync(http, orch, tasks);
        var orchCpu = orch.CpuTime() - cpu0;
        var genCpu = Process.GetCurrentProcess().TotalProcessorTime - self0;
        Console.WriteLine($"throughput phase      : {wall.Elapsed.TotalSeconds:F1} s wall, orchestrator CPU {orchCpu.TotalSeconds:F1} s, " +
                          $"load generator CPU {genCpu.TotalSeconds:F1} s");
        // CPU per task does not depend on what else runs on the machine; tasks/s does.
        var orchPerTask = orchCpu.TotalMilliseconds * 1000 / tasks;
        var genPerTask = genCpu.TotalMilliseconds * 1000 / tasks;
        var (p50, p99, count) = await LatencyAsync(http, orch, rate, seconds: 10);
        var rss = orch.PeakRssMb();

        Console.WriteLine();
        Console.WriteLine($"end-to-end throughput : {throughput:F0} tasks/s ({tasks} tasks, submit → lease → complete)");
        Console.WriteLine($"CPU per task          : orchestrator {orchPerTask:F0} µs, load generator {genPerTask:F0} µs " +
                          $"(→ {Environment.ProcessorCount * 1_000_000 / (orchPerTask + genPerTask):F0} tasks/s if both had all {Environment.ProcessorCount} cores to themselves)");
        Console.WriteLine($"submit-to-lease       : p50 {p50:F2} ms, p99 {p99:F2} ms ({count} tasks at {rate}/s, one long-polling worker)");
        Console.WriteLine($"orchestrator peak RSS : {rss:F0} MB (VmHWM of the orchestrator process)");
        if (File.Exists("/proc/loadavg"))
        {
            Console.WriteLine($"load average after    : {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        Console.WriteLine($"targets               : ≥ 3000 tasks/s {(throughput >= 3000 ? "met" : "MISSED")}, p50 < 2 ms {(p50 < 2 ? "met" : "MISSED")}");
        return 0;
    }

    private static async Task WarmUpAsync(HttpClient http, OrchestratorProcess orch)
    {
        var client = Client(http, orch);
        var worker = await WorkerAsync(http, orch, "warmup");
        for (var i = 0; i < 300; i++)
        {
            await client.SubmitAsync(new SubmitTaskRequest { Prompt = "warm" });
        }
        var left = 300;
        while (left > 0)
        {
            foreach (var lease in await worker.LeaseAsync(64, TimeSpan.FromSeconds(5)))
            {
                await worker.CompleteAsync(lease.TaskId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "ok" });
                left--;
            }
        }
        await worker.DeregisterAsync();
    }

    private static async Task<double> ThroughputAsync(HttpClient http, OrchestratorProcess orch, int total)
    {
        const int submitters = 32, workers = 4, pollersPerWorker = 4, leaseMax = 32;
        var client = Client(http, orch);
        var workerClients = new List<WorkerClient>();
        for (var i = 0; i < workers; i++) workerClients.Add(await WorkerAsync(http, orch, $"bench-{i}"));

        var submitted = 0;
        var completed = 0;
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var pollers = LeasePollers.Start(workerClients, pollersPerWorker, leaseMax, count =>
        {
            if (Interlocked.Add(ref completed, count) >= total) stop.Cancel();
        }, stop.Token);
        var submitLoops = Enumerable.Range(0, submitters).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref submitted) <= total)
            {
                await client.SubmitAsync(new SubmitTaskRequest { Prompt = "bench", MaxTokens = 16 });
            }
        })).ToArray();
        await Task.WhenAll(submitLoops);
        await Task.WhenAll(pollers);
        clock.Stop();
        foreach (var w in workerClients) await w.DeregisterAsync();
        return total / clock.Elapsed.TotalSeconds;
    }

    private static async Task<(double P50, double P99, int Count)> LatencyAsync(HttpClient http, OrchestratorProcess orch, int rate, int seconds)
    {
        var client = Client(http, orch);
        var worker = await WorkerAsync(http, orch, "latency", concurrency: 64);
        var started = new ConcurrentDictionary<string, long>();
        var latencies = new ConcurrentBag<double>();
        var count = rate * seconds;
        var received = 0;
        using var stop = new CancellationTokenSource();
        var completes = new ConcurrentBag<Task>();

        var poller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                IReadOnlyList<TaskLease> leases;
                try
                {
                    leases = await worker.LeaseAsync(1, TimeSpan.FromSeconds(30), stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                var now = Stopwatch.GetTimestamp();
                foreach (var lease in leases)
                {
                    var label = lease.Messages[0].Content;
                    // The submit call may not have returned yet; its start time was recorded before sending.
                    if (started.TryGetValue(label, out var t0))
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(t0, now).TotalMilliseconds);
                    }
                    completes.Add(worker.CompleteAsync(lease.TaskId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "ok" }));
                    if (Interlocked.Increment(ref received) >= count) stop.Cancel();
                }
            }
        });

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / rate));
        var submits = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            await timer.WaitForNextTickAsync();
            var label = "lat-" + i.ToString(CultureInfo.InvariantCulture);
            started[label] = Stopwatch.GetTimestamp();
            submits.Add(client.SubmitAsync(new SubmitTaskRequest { Prompt = label }));
        }
        await Task.WhenAll(submits);
        await poller;
        await Task.WhenAll(completes);
        await worker.DeregisterAsync();

        var sorted = latencies.Order().ToArray();
        return (Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted.Length);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(p * sorted.Length))];

    private static OrchestratorClient Client(HttpClient http, OrchestratorProcess orch) =>
        new(http) { ApiKey = orch.ApiKey, JoinToken = orch.JoinToken };

    private static async Task<WorkerClient> WorkerAsync(HttpClient http, OrchestratorProcess orch, string name, int concurrency = 1024)
    {
        var joiner = Client(http, orch);
        return joiner.AsWorker(await joiner.RegisterAsync(new RegisterWorkerRequest
        {
            Name = name, Provider = "ollama", Models = ["bench-model"], MaxConcurrency = concurrency,
        }));
    }

    private static int IntArg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
