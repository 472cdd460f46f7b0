using D8.Contracts;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>A real orchestrator process and real worker processes on free loopback ports, with a temp database.</summary>
public sealed class WorkerFleet : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly ITestOutputHelper _log;
    private readonly List<ProcessHost> _workers = [];
    private readonly Dictionary<string, string?> _orchestratorEnv;
    private readonly HttpClient _http;

    private WorkerFleet(ITestOutputHelper log, IDictionary<string, string?>? orchestratorSettings)
    {
        _log = log;
        Port = FreePort.Next();
        DbPath = TempDatabase.NewPath("worker");
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        JoinToken = "join-" + Guid.NewGuid().ToString("N");
        ApiKey = "key-" + Guid.NewGuid().ToString("N");
        _orchestratorEnv = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port}",
            ["D8_DB_PATH"] = DbPath,
            ["D8_JOIN_TOKEN"] = JoinToken,
            ["D8_API_KEYS"] = ApiKey,
            ["D8_HEARTBEAT_SECONDS"] = "1",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (k, v) in orchestratorSettings ?? new Dictionary<string, string?>()) _orchestratorEnv[k] = v;
        _http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(90) };
        Client = new OrchestratorClient(_http) { ApiKey = ApiKey };
    }

    public int Port { get; }
    public string DbPath { get; }
    public string JoinToken { get; }
    public string ApiKey { get; }
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");
    public OrchestratorClient Client { get; }
    public ProcessHost? Orchestrator { get; private set; }

    /// <summary>Starts the orchestrator process and waits for /health.</summary>
    public static async Task<WorkerFleet> StartAsync(ITestOutputHelper log, IDictionary<string, string?>? orchestratorSettings = null)
    {
        var fleet = new WorkerFleet(log, orchestratorSettings);
        await fleet.StartOrchestratorAsync();
        return fleet;
    }

    /// <summary>(Re)starts the orchestrator on the same port and database.</summary>
    public async Task StartOrchestratorAsync()
    {
        Orchestrator = ProcessHost.Start("D8.Orchestrator", _orchestratorEnv, log: _log, name: "orchestrator");
        await Orchestrator.WaitForHealthyAsync(new Uri(BaseUrl, "health").ToString(), Timeout);
    }

    /// <summary>Starts a worker process with the common settings plus <paramref name="env"/>; returns it with its /health URL.</summary>
    public (ProcessHost Process, string HealthUrl) StartWorker(string name, string provider, string providerUrl, IDictionary<string, string?>? env = null)
    {
        var port = FreePort.Next();
        var settings = WorkerSettings(BaseUrl, JoinToken, port, name, provider, providerUrl);
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) settings[k] = v;
        var process = ProcessHost.Start("D8.Worker", settings, log: _log, name: name);
        _workers.Add(process);
        return (process, $"http://127.0.0.1:{port}/health");
    }

    /// <summary>A test worker's environment: <paramref name="orchestrator"/>, its /health on <paramref name="port"/>,
    /// the provider at <paramref name="providerUrl"/> (an emulator; OpenAI-compatible ones with <see cref="EmulatorKey"/>).</summary>
    public static Dictionary<string, string?> WorkerSettings(Uri orchestrator, string joinToken, int port, string name,
        string provider, string providerUrl)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["D8_ORCHESTRATOR_URL"] = orchestrator.ToString(),
            ["D8_JOIN_TOKEN"] = joinToken,
            ["D8_WORKER_NAME"] = name,
            ["D8_PROVIDER"] = provider,
            ["D8_SHUTDOWN_GRACE_SECONDS"] = "30",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__D8"] = "Information",
        };
        if (provider == "ollama") settings["D8_OLLAMA_URL"] = providerUrl;
        else
        {
            settings["D8_PROVIDER_BASE_URL"] = providerUrl;
            settings["D8_PROVIDER_API_KEY"] = EmulatorKey;
        }
        return settings;
    }

    /// <summary>The API key the OpenAI emulators are started with.</summary>
    public const string EmulatorKey = "emulator-key";

    /// <summary>Waits until the fleet lists an online worker named <paramref name="name"/>.</summary>
    public async Task<WorkerView> WaitForWorkerAsync(string name, Func<WorkerView, bool>? condition = null)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var workers = await Client.GetWorkersAsync();
            var match = workers.FirstOrDefault(w => w.Name == name && (condition?.Invoke(w) ?? (w.State == WorkerState.Online && w.Healthy)));
            if (match is not null) return match;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"worker {name} not as expected: " + string.Join("; ", workers.Select(w => $"{w.Name} {w.State} healthy={w.Healthy} {w.Status}")));
            }
            await Task.Delay(100); // polling interval for a condition with a deadline
        }
    }

    /// <summary>Waits (long-poll) until the task is terminal.</summary>
    public Task<TaskView> WaitForTerminalAsync(string id) => Client.WaitUntilFinishedAsync(id, Timeout);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers) await worker.DisposeAsync();
        if (Orchestrator is not null) await Orchestrator.DisposeAsync();
        _http.Dispose();
        TempDatabase.Delete(DbPath);
    }
}
