using D8.Contracts;
using Xunit.Abstractions;

namespace D8.Tests.Infrastructure;

/// <summary>
/// What <c>WorkerFleet</c> (plain HTTP) and <c>TlsFleet</c> (HTTPS with a pin) share: an orchestrator process on a
/// loopback port it picks itself (port 0; every restart reuses the port it got first, since workers were given that URL)
/// with a temp database, its credentials, the worker processes started against it, waiting for a worker
/// to be listed, and cleanup. The subclasses add only how the orchestrator is reached and when it counts as started.
/// </summary>
public abstract class ProcessFleet : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>The API key the OpenAI emulators are started with.</summary>
    public const string EmulatorKey = "emulator-key";

    private readonly List<ProcessHost> _workers = [];

    protected ProcessFleet(ITestOutputHelper log, string dbPrefix, IDictionary<string, string?>? settings)
    {
        Log = log;
        DbPath = TempDatabase.NewPath(dbPrefix);
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        JoinToken = "join-" + Guid.NewGuid().ToString("N");
        ApiKey = "key-" + Guid.NewGuid().ToString("N");
        OrchestratorEnv = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_DB_PATH"] = DbPath,
            ["D8_JOIN_TOKEN"] = JoinToken,
            ["D8_API_KEYS"] = ApiKey,
            ["D8_HEARTBEAT_SECONDS"] = "1",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information", // "Now listening on: …" tells the port
        };
        ExtraSettings = settings;
    }

    protected ITestOutputHelper Log { get; }

    /// <summary>The orchestrator's environment; subclasses add to it in their constructor, then call <see cref="ApplySettings"/>.</summary>
    protected Dictionary<string, string?> OrchestratorEnv { get; }

    private IDictionary<string, string?>? ExtraSettings { get; }

    /// <summary>The orchestrator's port (known once it has started the first time).</summary>
    public int Port { get; private set; }
    public string DbPath { get; }

    /// <summary>The join secret the orchestrator is started with.</summary>
    public string JoinToken { get; }
    public string ApiKey { get; }
    public ProcessHost? Orchestrator { get; protected set; }

    /// <summary>A client for the API (API key set).</summary>
    public abstract OrchestratorClient Client { get; }

    /// <summary>The test's own settings win over the defaults.</summary>
    protected void ApplySettings()
    {
        foreach (var (k, v) in ExtraSettings ?? new Dictionary<string, string?>()) OrchestratorEnv[k] = v;
    }

    /// <summary>
    /// Starts the orchestrator process (same database and environment each time). The first start binds port 0 and
    /// reads the port it got; later starts bind that same port, as an operator's restart keeps its address.
    /// </summary>
    protected async Task<ProcessHost> StartOrchestratorProcessAsync()
    {
        var orchestrator = Orchestrator = ProcessHost.Start("D8.Orchestrator", OrchestratorEnv, log: Log, name: "orchestrator");
        if (Port == 0)
        {
            Port = (await orchestrator.WaitForListeningAsync(Timeout)).Port;
            OrchestratorEnv["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port}";
        }
        return orchestrator;
    }

    /// <summary>Starts a worker process with <paramref name="settings"/>; disposed with the fleet.</summary>
    protected ProcessHost StartWorkerProcess(string name, Dictionary<string, string?> settings)
    {
        var process = ProcessHost.Start("D8.Worker", settings, log: Log, name: name);
        _workers.Add(process);
        return process;
    }

    /// <summary>A test worker's environment: <paramref name="orchestrator"/>, its /health on a port of its own choosing
    /// (<see cref="ProcessHost.WaitForListeningAsync"/> tells it), the provider at <paramref name="providerUrl"/> (an
    /// emulator; OpenAI-compatible ones with <see cref="EmulatorKey"/>).</summary>
    public static Dictionary<string, string?> WorkerSettings(Uri orchestrator, string joinToken, string name,
        string provider, string providerUrl)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_ORCHESTRATOR_URL"] = orchestrator.ToString(),
            ["D8_JOIN_TOKEN"] = joinToken,
            ["D8_WORKER_NAME"] = name,
            ["D8_PROVIDER"] = provider,
            ["D8_SHUTDOWN_GRACE_SECONDS"] = "30",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__D8"] = "Information",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        if (provider == "ollama") settings["D8_OLLAMA_URL"] = providerUrl;
        else
        {
            settings["D8_PROVIDER_BASE_URL"] = providerUrl;
            settings["D8_PROVIDER_API_KEY"] = EmulatorKey;
        }
        return settings;
    }

    /// <summary>Waits until the fleet lists a worker named <paramref name="name"/> matching <paramref name="condition"/>
    /// (default: online and healthy).</summary>
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

    /// <summary>Stops the workers, then the orchestrator, then deletes the database (subclasses delete what they add).</summary>
    public virtual async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers) await worker.DisposeAsync();
        if (Orchestrator is not null) await Orchestrator.DisposeAsync();
        TempDatabase.Delete(DbPath);
        GC.SuppressFinalize(this);
    }
}
