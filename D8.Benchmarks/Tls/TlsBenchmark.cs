using System.Diagnostics;
using System.Globalization;
using D8.Contracts;
using D8.Contracts.Trust;
using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Tls;

/// <summary>
/// What TLS with a pinned CA costs: the same orchestrator served over plain HTTP and over HTTPS (its own CA), measured
/// as (1) requests on one kept-alive connection and (2) a new connection per request (TCP + TLS handshake + the pin
/// check), with GET /api/stats and the API key. Prints medians and p99s; no pass/fail.
/// </summary>
internal static class TlsBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
        var fresh = Math.Max(50, requests / 10);
        Console.WriteLine($"tls: {requests} requests on one connection, {fresh} on a new connection each, GET /api/stats, plain HTTP vs HTTPS (pinned self-made CA)");
        foreach (var tls in new[] { false, true })
        {
            await using var orchestrator = await Start(tls);
            var kept = await Measure(orchestrator, requests, newConnection: false);
            var perConnection = await Measure(orchestrator, fresh, newConnection: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(tls ? "https" : "http "),-5}  kept-alive: median {Median(kept):F3} ms, p99 {P99(kept):F3} ms   new connection: median {Median(perConnection):F3} ms, p99 {P99(perConnection):F3} ms"));
        }
        return 0;
    }

    private sealed class Orchestrator(ProcessHost host, string dir, Uri url, string apiKey, string? pin) : IAsyncDisposable
    {
        public Uri Url => url;
        public string ApiKey => apiKey;
        public string? Pin => pin;

        public async ValueTask DisposeAsync()
        {
            await host.DisposeAsync();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { /* best effort */ }
        }
    }

    private static async Task<Orchestrator> Start(bool tls)
    {
        var dir = Path.Combine(Path.GetTempPath(), "d8-bench", "tls-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var apiKey = "bench-" + Guid.NewGuid().ToString("N");
        var host = ProcessHost.Launch("D8.Orchestrator", new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_TLS"] = tls ? "true" : "false",
            ["D8_DB_PATH"] = Path.Combine(dir, "d8.db"),
            ["D8_API_KEYS"] = apiKey,
            ["D8_JOIN_TOKEN"] = "bench-join-" + Guid.NewGuid().ToString("N"),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        }, log: _ => { }, name: "orchestrator");
        var port = (await host.WaitForListeningAsync(TimeSpan.FromSeconds(60))).Port;
        await host.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(60));
        string? pin = null;
        if (tls && JoinToken.TryParse(await File.ReadAllTextAsync(Path.Combine(dir, "tls", "join-token")), out var token, out _)) pin = token.Pin;
        return new Orchestrator(host, dir, new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{port}/"), apiKey, pin);
    }

    private static async Task<List<double>> Measure(Orchestrator o, int count, bool newConnection)
    {
        var trust = o.Pin is null ? null : new PinnedTrust(o.Pin, TimeProvider.System);
        if (trust is not null) await trust.EnsureCaAsync(o.Url, refresh: false, CancellationToken.None); // once, as a worker does
        SocketsHttpHandler Handler()
        {
            var handler = new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
            trust?.Apply(handler.SslOptions);
            return handler;
        }
        var times = new List<double>(count);
        using var shared = new HttpClient(Handler()) { BaseAddress = o.Url };
        var client = new OrchestratorClient(shared) { ApiKey = o.ApiKey };
        await client.GetStatsAsync(); // warm-up: JIT, first connection
        for (var i = 0; i < count; i++)
        {
            // A new connection: a handler of its own (TCP and, for https, a full handshake with the pin check).
            using var own = newConnection ? new HttpClient(Handler()) { BaseAddress = o.Url } : null;
            var c = own is null ? client : new OrchestratorClient(own) { ApiKey = o.ApiKey };
            var started = Stopwatch.GetTimestamp();
            await c.GetStatsAsync();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return times;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);
    private static double P99(List<double> values) => Percentile(values, 0.99);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
