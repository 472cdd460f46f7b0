using System.Diagnostics;
using D8.Tests.Infrastructure;
using D8.Worker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace D8.Tests.Telemetry;

/// <summary>
/// The orchestrator and one worker in this process, each with the real ServiceDefaults telemetry pipeline plus an
/// in-memory span exporter, so a test sees exactly the spans the dashboard would receive. Counts the heartbeats the
/// orchestrator served (an explicit signal for "the fleet has been idle for N heartbeats").
/// </summary>
public sealed class TelemetryHost : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];
    private readonly List<Activity> _spans = [];
    private readonly Lock _gate = new();
    private readonly List<(int Count, TaskCompletionSource Signal)> _heartbeatWaits = [];
    private int _heartbeats;

    /// <summary>The orchestrator's port (it binds port 0; set at start).</summary>
    public int OrchestratorPort { get; private set; }

    /// <summary>The provider emulator's port (set at start).</summary>
    public int ProviderPort { get; private set; }

    /// <summary>The worker's port (it binds port 0; set at start).</summary>
    public int WorkerPort { get; private set; }
    public string ApiKey { get; } = "key-" + Guid.NewGuid().ToString("N");
    public string JoinToken { get; } = "join-" + Guid.NewGuid().ToString("N");
    public Uri OrchestratorUrl => new($"http://127.0.0.1:{OrchestratorPort}/");
    public Uri WorkerUrl => new($"http://127.0.0.1:{WorkerPort}/");
    private string DbPath { get; } = Path.Combine(Path.GetTempPath(), "d8-tests", $"telemetry-{Guid.NewGuid():N}.db");

    /// <summary>
    /// The spans of every trace that touched this host's orchestrator, worker or provider. Tracing listens process-wide
    /// and other tests run in parallel in this process, so their traces are left out by the ports they used.
    /// </summary>
    public IReadOnlyList<Activity> Spans
    {
        get
        {
            List<Activity> all;
            lock (_gate) all = [.. _spans];
            int[] ports = [OrchestratorPort, WorkerPort, ProviderPort];
            var mine = all.Where(s => s.GetTagItem("server.port") is { } port && ports.Contains(Convert.ToInt32(port, System.Globalization.CultureInfo.InvariantCulture)))
                .Select(s => s.TraceId).ToHashSet();
            return all.Where(s => mine.Contains(s.TraceId)).ToList();
        }
    }

    /// <summary>Starts the orchestrator, then a worker for an OpenAI-compatible provider at <paramref name="providerUrl"/>.</summary>
    public static async Task<TelemetryHost> StartAsync(Uri providerUrl, CancellationToken ct)
    {
        var host = new TelemetryHost { ProviderPort = providerUrl.Port };
        Directory.CreateDirectory(Path.GetDirectoryName(host.DbPath)!);
        var orchestrator = host.Builder(new()
        {
            ["D8_DB_PATH"] = host.DbPath, ["D8_JOIN_TOKEN"] = host.JoinToken, ["D8_API_KEYS"] = host.ApiKey,
            ["D8_HEARTBEAT_SECONDS"] = "1",
        });
        orchestrator.AddServiceDefaults();
        orchestrator.AddOrchestrator();
        var orchestratorApp = orchestrator.Build();
        orchestratorApp.Use(async (context, next) =>
        {
            await next(context);
            if (context.Request.Path.Value?.EndsWith("/heartbeat", StringComparison.Ordinal) == true) host.Heartbeat();
        });
        orchestratorApp.MapOrchestrator();
        host.OrchestratorPort = await host.StartAsync(orchestratorApp, ct);

        var worker = host.Builder(new()
        {
            ["D8_ORCHESTRATOR_URL"] = host.OrchestratorUrl.ToString(), ["D8_JOIN_TOKEN"] = host.JoinToken,
            ["D8_PROVIDER"] = "groq", ["D8_PROVIDER_API_KEY"] = "k", ["D8_PROVIDER_BASE_URL"] = providerUrl.ToString(),
            ["D8_WORKER_NAME"] = "telemetry-worker", ["D8_PROMETHEUS"] = "true",
        });
        Assert.Equal(0, worker.AddWorker());
        var workerApp = worker.Build();
        workerApp.MapDefaultEndpoints();
        host.WorkerPort = await host.StartAsync(workerApp, ct);
        return host;
    }

    /// <summary>Completes once the orchestrator has served <paramref name="count"/> heartbeats since start.</summary>
    public Task WaitForHeartbeatsAsync(int count, CancellationToken ct)
    {
        lock (_gate)
        {
            if (_heartbeats >= count) return Task.CompletedTask;
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _heartbeatWaits.Add((count, signal));
            return signal.Task.WaitAsync(ct);
        }
    }

    /// <summary>Flushes both apps' span processors.</summary>
    public void Flush()
    {
        foreach (var app in _apps) app.Services.GetService<TracerProvider>()?.ForceFlush(5000);
    }

    private void Heartbeat()
    {
        lock (_gate)
        {
            _heartbeats++;
            foreach (var wait in _heartbeatWaits.Where(w => w.Count <= _heartbeats).ToList())
            {
                wait.Signal.TrySetResult();
                _heartbeatWaits.Remove(wait);
            }
        }
    }

    private WebApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        settings["Logging:LogLevel:Default"] = "Warning";
        // What the AppHost gives every project: sample everything, whatever the caller's W3C flags say.
        settings["OTEL_TRACES_SAMPLER"] = "always_on";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(FreePort.Any);
        builder.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(new LockedList(_spans, _gate)));
        return builder;
    }

    /// <summary>Starts <paramref name="app"/> and returns the port it got.</summary>
    private async Task<int> StartAsync(WebApplication app, CancellationToken ct)
    {
        _apps.Add(app);
        await app.StartAsync(ct);
        return ServerAddress.Of(app.Services).Port;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _apps.Count - 1; i >= 0; i--)
        {
            await _apps[i].StopAsync();
            await _apps[i].DisposeAsync();
        }
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            try { File.Delete(DbPath + suffix); } catch (IOException) { /* best effort */ }
        }
    }

    /// <summary>The in-memory exporter adds from the exporting thread; the test reads from its own.</summary>
    private sealed class LockedList(List<Activity> inner, Lock gate) : ICollection<Activity>
    {
        public int Count { get { lock (gate) return inner.Count; } }
        public bool IsReadOnly => false;
        public void Add(Activity item) { lock (gate) inner.Add(item); }
        public void Clear() { lock (gate) inner.Clear(); }
        public bool Contains(Activity item) { lock (gate) return inner.Contains(item); }
        public void CopyTo(Activity[] array, int arrayIndex) { lock (gate) inner.CopyTo(array, arrayIndex); }
        public bool Remove(Activity item) { lock (gate) return inner.Remove(item); }
        public IEnumerator<Activity> GetEnumerator() { lock (gate) return inner.ToList().GetEnumerator(); }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
