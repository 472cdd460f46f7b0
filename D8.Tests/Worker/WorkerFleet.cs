using D8.Contracts;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>A real orchestrator process (plain HTTP) and real worker processes on loopback ports they pick themselves, with a temp database.</summary>
public sealed class WorkerFleet : ProcessFleet
{
    private HttpClient? _http;
    private OrchestratorClient? _client;

    private WorkerFleet(ITestOutputHelper log, IDictionary<string, string?>? orchestratorSettings)
        : base(log, "worker", orchestratorSettings)
    {
        ApplySettings();
    }

    public Uri BaseUrl => Port == 0 ? throw new InvalidOperationException("Start the orchestrator first.") : new($"http://127.0.0.1:{Port}/");

    /// <inheritdoc />
    public override OrchestratorClient Client => _client ??= new OrchestratorClient(
        _http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(90) }) { ApiKey = ApiKey };

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
        var orchestrator = await StartOrchestratorProcessAsync();
        await orchestrator.WaitForHealthyAsync(new Uri(BaseUrl, "health").ToString(), Timeout);
    }

    /// <summary>Starts a worker process with the common settings plus <paramref name="env"/> (its /health port:
    /// <see cref="ProcessHost.WaitForListeningAsync"/>).</summary>
    public ProcessHost StartWorker(string name, string provider, string providerUrl, IDictionary<string, string?>? env = null)
    {
        var settings = WorkerSettings(BaseUrl, JoinToken, name, provider, providerUrl);
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) settings[k] = v;
        return StartWorkerProcess(name, settings);
    }

    /// <summary>Waits (long-poll) until the task is terminal.</summary>
    public Task<TaskView> WaitForTerminalAsync(string id) => Client.WaitUntilFinishedAsync(id, Timeout);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _http?.Dispose();
    }
}
