using System.Diagnostics;
using System.Globalization;
using D8.Benchmarks.Dispatch;
using D8.Contracts;

namespace D8.Benchmarks.Failover;

/// <summary>
/// <c>failover [--tasks N] [--lease S]</c>: two orchestrator processes on one throwaway PostgreSQL cluster (fsync on),
/// N tasks queued on the active one (no workers, so all N stay live), then <c>kill -9</c> of the active one and the time
/// until the standby answers /health as active, having loaded the N live tasks — the goal is ≤ 10 s for 100,000.
/// </summary>
internal static class FailoverBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var tasks = Option(args, "--tasks", 100_000);
        var lease = Option(args, "--lease", 5);
        await using var store = await BenchStore.StartAsync(["--store", "postgres"]);
        var settings = store.Apply(new Dictionary<string, string?>
        {
            ["D8_LEADER_LEASE_SECONDS"] = lease.ToString(CultureInfo.InvariantCulture),
        });
        Console.WriteLine($"failover benchmark: {tasks} live tasks, leader lease {lease} s, {store.Description}, {Environment.ProcessorCount} cores, load {Load()}");

        await using var active = await OrchestratorProcess.StartAsync(settings: settings);
        await using var standby = await OrchestratorProcess.StartAsync(apiKey: active.ApiKey, joinToken: active.JoinToken, settings: settings);
        if (await RoleAsync(standby.BaseUrl) != "standby") throw new InvalidOperationException("the second orchestrator is not a standby");

        using var http = new HttpClient { BaseAddress = active.BaseUrl, Timeout = TimeSpan.FromSeconds(100) };
        var client = new OrchestratorClient(http) { ApiKey = active.ApiKey };
        var submitted = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) is var i && i < tasks)
            {
                await client.SubmitAsync(new SubmitTaskRequest { Prompt = $"failover {i}", Model = "nobody-serves-this", IdempotencyKey = $"failover-{i}" });
            }
        })));
        Console.WriteLine($"queued {tasks} tasks in {submitted.Elapsed.TotalSeconds:0.0} s");

        var clock = Stopwatch.StartNew();
        await active.KillAsync();
        while (await RoleAsync(standby.BaseUrl) != "active")
        {
            await Task.Delay(10); // polling the standby's /health: what is measured is when it first says active
        }
        var serving = clock.Elapsed;
        using var standbyHttp = new HttpClient { BaseAddress = standby.BaseUrl, Timeout = TimeSpan.FromSeconds(100) };
        var stats = await new OrchestratorClient(standbyHttp) { ApiKey = active.ApiKey }.GetStatsAsync();
        var live = stats.Tasks.TryGetValue("queued", out var queued) ? queued : 0;
        Console.WriteLine($"failover: active killed, standby serving after {serving.TotalSeconds:0.00} s, {live} live tasks (lease {lease} s, load {Load()})");
        return live == tasks ? 0 : 1;
    }

    private static async Task<string?> RoleAsync(Uri baseUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri(baseUrl, "health"));
            return response.Headers.TryGetValues(ActiveOrchestratorHandler.RoleHeader, out var roles) ? roles.First() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
