using System.Globalization;

namespace D8.Benchmarks.Schedule;

/// <summary>
/// `schedule [--time-scale K] [--only NAME,…] [--bounds]`: each scenario (<see cref="ScheduleScenario.All"/>) under the fifo
/// and the fastest scheduler, on real orchestrator and worker processes against emulators. With K, every token delay
/// and every rate-limit window (emulators and the workers' budgets) is divided by K, so the run takes 1/K of the time
/// and every ratio stays the same; makespan and bound are printed in the run's own seconds.
/// </summary>
internal static class ScheduleBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var scale = 1.0;
        string[]? only = null;
        var boundsOnly = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--time-scale" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var k) && k is >= 1 and <= 1000:
                    scale = k;
                    i++;
                    break;
                case "--bounds":
                    boundsOnly = true;
                    break;
                case "--only" when i + 1 < args.Length:
                    only = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                default:
                    Console.Error.WriteLine("usage: schedule [--time-scale K (integer 1-1000)] [--only tail,free-tier,storm,priority] [--bounds]");
                    return 2;
            }
        }
        if (boundsOnly)
        {
            foreach (var s in ScheduleScenario.All())
            {
                var batch = s.UrgentBatch ?? s.Batch;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"schedule: {s.Name} bound {MakespanBound.Seconds(batch, s.Fleet):F1} s, capacity bound {MakespanBound.CapacitySeconds(batch, s.Fleet):F1} s (time scale 1)"));
            }
            return 0;
        }
        // The in-process emulators log their start and stop at Information otherwise.
        Environment.SetEnvironmentVariable("Logging__LogLevel__Microsoft.Hosting.Lifetime", "Warning");
        Console.WriteLine($"schedule: time scale {scale} (delays and rate-limit windows divided by it); machine: " +
                          $"{Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        foreach (var scenario in ScheduleScenario.All().Where(s => only is null || only.Contains(s.Name)))
        {
            var measuredBatch = scenario.UrgentBatch ?? scenario.Batch;
            var bound = MakespanBound.Seconds(measuredBatch, scenario.Fleet) / scale;
            var capacity = MakespanBound.CapacitySeconds(measuredBatch, scenario.Fleet) / scale;
            var fifo = await ScheduleRun.RunAsync(scenario, "fifo", scale);
            var fastest = await ScheduleRun.RunAsync(scenario, "fastest", scale);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"schedule: {scenario.Name} makespan {fastest.Makespan:F1} s, bound {bound:F1} s, ratio {fastest.Makespan / bound:F2} (fifo {fifo.Makespan / bound:F2})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {scenario.Name}: fifo makespan {fifo.Makespan:F1} s; fastest: {fastest.Speculations} speculative copies ({fastest.SpeculationsWon} won), " +
                $"tokens reported {fastest.TokensReported} = sum of results {fastest.TokensOfResults}"));
            if (capacity < bound - 0.05)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {scenario.Name}: capacity bound (each minute window spendable in full at its start) {capacity:F1} s, ratio {fastest.Makespan / capacity:F2} (fifo {fifo.Makespan / capacity:F2})"));
            }
            Console.WriteLine($"  {scenario.Name}: fastest per worker: {fastest.PerWorker}");
            Console.WriteLine($"  {scenario.Name}: fifo per worker: {fifo.PerWorker}");
        }
        return 0;
    }
}
