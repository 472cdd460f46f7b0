using D8.Contracts;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>A real orchestrator process (plain HTTP) and real worker processes on free loopback ports, with a temp database.</summary>
public sealed class WorkerFleet : ProcessFleet
{
    private readonly HttpClient _http;

    private WorkerFleet(ITestOutputHelper log, IDictionary<string, string?>? orchestratorSettings)
        : base(log, "worker", orchestratorSettings)
    {
        ApplySettings();
        _http = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(90) };
        Client = new OrchestratorClient(_http) { ApiKey = ApiKey };
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    /// <inheritdoc />
    public override OrchestratorClient Client { get; }

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
        await StartOrchestratorProcess().WaitForHealthyAsync(new Uri(BaseUrl, "health").ToString(), Timeout);
    }

    /// <summary>Starts a worker process with the common settings plus <paramref name="env"/>; returns it with its /health URL.</summary>
    public (ProcessHost Process, string HealthUrl) StartWorker(string name, string provider, string providerUrl, IDictionary<string, string?>? env = null)
    {
        var port = FreePort.Next();
        var settings = WorkerSettings(BaseUrl, JoinToken, port, name, provider, providerUrl);
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) settings[k] = v;
        return (StartWorkerProcess(name, settings), $"http://127.0.0.1:{port}/health");
    }

    /// <summary>Waits (long-poll) until the task is terminal.</summary>
    public Task<TaskView> WaitForTerminalAsync(string id) => Client.WaitUntilFinishedAsync(id, Timeout);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _http.Dispose();
    }
}
