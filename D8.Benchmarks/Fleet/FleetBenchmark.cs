using System.Diagnostics;
using System.Globalization;
using D8.Benchmarks.Dispatch;
using D8.Contracts;

namespace D8.Benchmarks.Fleet;

/// <summary>
/// `fleet [--sizes 1000,5000,10000] [--tasks T] [--usage both|yes|no] [--repeat R] [--timeout S] [--http1] [--only fastest|fifo] [--set KEY=VALUE]…`:
/// a large fleet of simulated workers (<see cref="SimulatedFleet"/>) on one orchestrator process, the batch submitted
/// from 16 callers, under fifo and under fastest (a fresh orchestrator each), R rounds that alternate which goes first.
/// Tasks per second are counted from the first submit to the last completion; a run that has not finished when the
/// timeout ends says so (stalled) with what is still queued. The summary line gives the median rates, the ratio of the
/// medians and the highest peak RSS. Both schedulers run the same simulator, so fifo's rate, with the CPU each side used
/// per task, shows what the simulator can drive.
/// </summary>
internal static class FleetBenchmark
{
    private const int Submitters = 16;

    public static async Task<int> RunAsync(string[] args)
    {
        int[] sizes = [1000, 5000, 10_000];
        var tasks = 30_000;
        bool[] usages = [false, true];
        var timeout = TimeSpan.FromSeconds(60);
        var repeat = 5;
        var http2 = true;
        string[] schedulers = ["fifo", "fastest"];
        // Extra orchestrator settings (e.g. D8_SCHEDULER_RECHECK_MS=100), for experiments.
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes" when i + 1 < args.Length:
                    sizes = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                    break;
                case "--tasks" when i + 1 < args.Length:
                    tasks = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--usage" when i + 1 < args.Length:
                    usages = args[++i] switch { "yes" => [true], "no" => [false], _ => [false, true] };
                    break;
                case "--repeat" when i + 1 < args.Length:
                    repeat = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--timeout" when i + 1 < args.Length:
                    timeout = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--http1":
                    http2 = false;
                    break;
                case "--only" when i + 1 < args.Length:
                    schedulers = [args[++i]];
                    break;
                case "--set" when i + 1 < args.Length && args[i + 1].Contains('=', StringComparison.Ordinal):
                    var pair = args[++i].Split('=', 2);
                    settings[pair[0]] = pair[1];
                    break;
                default:
                    Console.Error.WriteLine("usage: fleet [--sizes 1000,5000,10000] [--tasks T] [--usage both|yes|no] [--repeat R] [--timeout S] [--http1] [--only fastest|fifo] [--set KEY=VALUE]");
                    return 2;
            }
        }
        Console.WriteLine($"fleet: {Environment.ProcessorCount} cores, load average {LoadAverage()}, simulator and orchestrator " +
                          $"share them; {(http2 ? "HTTP/2 (prior knowledge), 64 client handlers" : "HTTP/1.1, a handler per worker")}, " +
                          $"{repeat} round(s) alternating which scheduler goes first, timeout {timeout.TotalSeconds:F0} s per run{string.Concat(settings.Select(kv => $", {kv.Key}={kv.Value}"))}");
        foreach (var size in sizes)
        {
            foreach (var usage in usages)
            {
                var outcomes = schedulers.ToDictionary(k => k, _ => new List<Outcome>());
                for (var round = 0; round < repeat; round++)
                {
                    // Alternate the order so neither scheduler always runs on the warmer (or the more loaded) machine.
                    foreach (var scheduler in round % 2 == 0 ? schedulers : schedulers.Reverse())
                    {
                        var o = await RunOnceAsync(size, tasks, scheduler, usage, timeout, http2, settings);
                        outcomes[scheduler].Add(o);
                        Console.WriteLine(Describe(size, tasks, usage, scheduler, o));
                    }
                }
                Console.WriteLine(Summary(size, tasks, usage, outcomes.GetValueOrDefault("fastest"), outcomes.GetValueOrDefault("fifo")));
            }
        }
        Console.WriteLine($"fleet: load average after {LoadAverage()}");
        return 0;
    }

    private static string Describe(int size, int tasks, bool usage, string scheduler, Outcome o) => string.Create(CultureInfo.InvariantCulture,
        $"  {size} workers, {(usage ? "usage" : "no usage")}, {scheduler}: {o.Done}/{tasks} in {o.Seconds:F1} s ({o.Rate:F0} tasks/s)" +
        $"{(o.Done < tasks ? $" (STALLED: {o.Submitted} submitted; {o.Queued} queued, {o.Leased} leased at the end)" : "")}; " +
        $"register {o.RegisterSeconds:F1} s; RSS {o.BaselineRssMb:F0} MB before, {o.TenthRssMb:F0} MB with a tenth parked, " +
        $"{o.ParkedRssMb:F0} MB with all ({o.KbPerWorker(size):F1} KB per added worker), peak {o.PeakRssMb:F0} MB; CPU per task " +
        $"orchestrator {o.OrchestratorCpu.TotalMilliseconds * 1000 / Math.Max(1, o.Done):F0} µs, simulator " +
        $"{o.SimulatorCpu.TotalMilliseconds * 1000 / Math.Max(1, o.Done):F0} µs; {o.Errors} errors{(o.Errors > 0 ? $" ({o.ErrorKinds})" : "")}");

    /// <summary>
    /// The size's line: median tasks/s of each scheduler, the ratio of the medians, and for the fastest runs (fifo's when
    /// fastest did not run) the highest peak RSS, the errors summed and STALLED if any run did not finish.
    /// </summary>
    private static string Summary(int size, int tasks, bool usage, List<Outcome>? fastest, List<Outcome>? fifo)
    {
        var main = fastest ?? fifo!;
        var fastestRate = fastest is null ? (double?)null : Median(fastest.Select(o => o.Rate));
        var fifoRate = fifo is null ? (double?)null : Median(fifo.Select(o => o.Rate));
        var rounds = main.Count > 1 ? $"median of {main.Count}, " : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"fleet: {size} workers, {tasks} tasks, {(usage ? "usage" : "no usage")}, {rounds}" +
            $"fastest {(fastestRate is { } f ? f.ToString("F0", CultureInfo.InvariantCulture) : "-")} tasks/s " +
            $"(fifo {(fifoRate is { } g ? g.ToString("F0", CultureInfo.InvariantCulture) : "-")} tasks/s" +
            $"{(fastestRate is { } a && fifoRate is { } b ? $", ratio {a / b:F2}" : "")}), " +
            $"peak RSS {main.Max(o => o.PeakRssMb):F0} MB, {Median(main.Select(o => o.KbPerWorker(size))):F1} KB per parked worker, {main.Sum(o => o.Errors)} errors{(main.Any(o => o.Done < tasks) ? ", STALLED" : "")}");
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record Outcome(int Done, double Seconds, double RegisterSeconds, double BaselineRssMb, double TenthRssMb, double ParkedRssMb,
        double PeakRssMb, long Errors, TimeSpan OrchestratorCpu, TimeSpan SimulatorCpu, int Submitted, long Queued, long Leased, string ErrorKinds)
    {
        public double Rate => Done / Seconds;

        /// <summary>Growth per parked worker between a tenth of the fleet and all of it.</summary>
        public double KbPerWorker(int size) => (ParkedRssMb - TenthRssMb) * 1024 / (size - Math.Max(1, size / 10));
    }

    private static async Task<Outcome> RunOnceAsync(int size, int tasks, string scheduler, bool usage, TimeSpan timeout, bool http2,
        IReadOnlyDictionary<string, string?> settings)
    {
        await using var orch = await OrchestratorProcess.StartAsync(http2: http2, settings: new Dictionary<string, string?>(settings)
        {
            ["D8_SCHEDULER"] = scheduler,
        });
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Submitters })
        {
            BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(90),
        };
        var client = new OrchestratorClient(http) { ApiKey = orch.ApiKey };
        await client.GetStatsAsync();
        var baseline = orch.RssMb();

        // A tenth of the fleet first: what the process grows by for its first workers (JIT, thread pool, connection
        // buffers) is paid once, so memory per worker is read from the growth between a tenth and all of them.
        var register = Stopwatch.StartNew();
        var tenth = Math.Max(1, size / 10);
        await using var fleet = await SimulatedFleet.StartAsync(orch.Http2Url ?? orch.BaseUrl, orch.JoinToken, tenth, usage, http2);
        var tenthRss = await ParkedRssAsync(orch, fleet, register);
        await fleet.AddAsync(size - tenth);
        var parked = await ParkedRssAsync(orch, fleet, register);
        register.Stop();

        var cpu0 = orch.CpuTime();
        var self0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var next = 0;
        long submitErrors = 0;
        var accepted = 0;
        var submitters = Enumerable.Range(0, Submitters).Select(_ => Task.Run(async () =>
        {
            // A stalled run stops submitting at the timeout rather than queueing the rest behind it.
            while (clock.Elapsed < timeout && Interlocked.Increment(ref next) <= tasks)
            {
                try
                {
                    await client.SubmitAsync(new SubmitTaskRequest { Prompt = "fleet", MaxTokens = SimulatedFleet.OutputTokens });
                    Interlocked.Increment(ref accepted);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref submitErrors);
                }
            }
        })).ToArray();
        while (fleet.Completed < tasks && clock.Elapsed < timeout)
        {
            await Task.Delay(10); // progress polling
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var done = (int)Math.Min(tasks, fleet.Completed);
        var orchCpu = orch.CpuTime() - cpu0;
        var selfCpu = Process.GetCurrentProcess().TotalProcessorTime - self0;
        var errors = fleet.Errors + Interlocked.Read(ref submitErrors);
        var errorKinds = fleet.ErrorKinds + (submitErrors > 0 ? $", submit: {submitErrors}" : "");
        var submitted = Volatile.Read(ref accepted);
        var stats = done < tasks ? await client.GetStatsAsync() : null;
        var peak = orch.PeakRssMb();
        await Task.WhenAll(submitters);
        return new Outcome(done, seconds, register.Elapsed.TotalSeconds, baseline, tenthRss, parked, peak, errors, orchCpu, selfCpu,
            submitted, stats?.Tasks.GetValueOrDefault("queued") ?? 0, stats?.Tasks.GetValueOrDefault("leased") ?? 0, errorKinds);
    }

    /// <summary>
    /// RSS once every worker of the fleet has sent its first poll and it had time to park; <paramref name="register"/>
    /// (registration and first polls) does not count the settling time.
    /// </summary>
    private static async Task<double> ParkedRssAsync(OrchestratorProcess orch, SimulatedFleet fleet, Stopwatch register)
    {
        while (fleet.Polling < fleet.Count)
        {
            await Task.Delay(50); // start-up polling
        }
        register.Stop();
        // Let every first poll reach the orchestrator and park.
        await Task.Delay(TimeSpan.FromSeconds(3));
        register.Start();
        return orch.RssMb();
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
