using D8.Contracts;
using D8.Orchestrator.Scheduling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace D8.Tests.Infrastructure;

/// <summary>
/// The real orchestrator (same composition as its Program.cs) on Kestrel at http://127.0.0.1:&lt;port&gt; (port 0 at the
/// first start: the OS picks it), with a temp SQLite file, random join token and API key. <see cref="RestartAsync"/>
/// stops it and starts a fresh one on the same port and file, as an operator restarting it would.
/// </summary>
public sealed class InProcessOrchestrator : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private readonly bool _ownsDb;
    private readonly List<HttpClient> _clients = [];
    private WebApplication? _app;

    private InProcessOrchestrator(string dbPath, bool ownsDb, IDictionary<string, string?>? settings)
    {
        DbPath = dbPath;
        _ownsDb = ownsDb;
        JoinToken = "join-" + Guid.NewGuid().ToString("N");
        ApiKey = "key-" + Guid.NewGuid().ToString("N");
        _settings = new Dictionary<string, string?>
        {
            ["D8_DB_PATH"] = dbPath,
            ["D8_JOIN_TOKEN"] = JoinToken,
            ["D8_API_KEYS"] = ApiKey,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:D8"] = "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
        {
            _settings[k] = v;
        }
    }

    public string DbPath { get; }
    /// <summary>The port the first start got; restarts keep it.</summary>
    public int Port { get; private set; }
    public string JoinToken { get; }
    public string ApiKey { get; }
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    /// <summary>The running app's services (engine, options…).</summary>
    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("Not running.")).Services;

    public SchedulingEngine Engine => Services.GetRequiredService<SchedulingEngine>();

    /// <summary>Starts an orchestrator. Settings are D8_* keys (or any configuration key) that override the defaults.</summary>
    public static async Task<InProcessOrchestrator> StartAsync(IDictionary<string, string?>? settings = null, string? dbPath = null)
    {
        var owns = dbPath is null;
        dbPath ??= TempDatabase.NewPath("orchestrator");
        var host = new InProcessOrchestrator(dbPath, owns, settings);
        await host.StartAppAsync();
        return host;
    }

    /// <summary>Graceful stop, then a fresh orchestrator on the same port and database file.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAppAsync();
    }

    /// <summary>Stops the app (graceful: pending commits are flushed).</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>A typed client with the API key and join token set (register it to act as a worker).</summary>
    public OrchestratorClient CreateClient(TimeSpan? timeout = null) =>
        new(CreateHttpClient(timeout)) { ApiKey = ApiKey, JoinToken = JoinToken };

    /// <summary>A raw HttpClient aimed at <see cref="BaseUrl"/>, without credentials.</summary>
    public HttpClient CreateHttpClient(TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = BaseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        lock (_clients)
        {
            _clients.Add(http);
        }
        return http;
    }

    private async Task StartAppAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "D8.Orchestrator",
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(_settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();
        builder.WebHost.UseUrls(Port == 0 ? FreePort.Any : $"http://127.0.0.1:{Port}");
        builder.AddServiceDefaults();
        builder.AddOrchestrator();

        var app = builder.Build();
        app.MapOrchestrator();
        await app.StartAsync();
        Port = ServerAddress.Of(app.Services).Port;
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_clients)
        {
            foreach (var c in _clients) c.Dispose();
            _clients.Clear();
        }
        await StopAsync();
        if (_ownsDb)
        {
            TempDatabase.Delete(DbPath);
        }
    }
}
