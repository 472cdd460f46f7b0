using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>
/// Base for d8 command tests against a real in-process orchestrator: the CLI's connection settings point at it
/// through D8_ORCHESTRATOR_URL and D8_API_KEY, as a user's environment would.
/// </summary>
public abstract class CliOrchestratorTests : IAsyncLifetime
{
    /// <summary>The orchestrator the commands talk to.</summary>
    protected InProcessOrchestrator Orch { get; private set; } = null!;

    /// <summary>Runs d8 commands in-process with a controlled environment.</summary>
    protected CliRun Cli { get; } = new();

    public async Task InitializeAsync()
    {
        Orch = await InProcessOrchestrator.StartAsync();
        Cli.Variables["D8_ORCHESTRATOR_URL"] = Orch.BaseUrl.AbsoluteUri;
        Cli.Variables["D8_API_KEY"] = Orch.ApiKey;
    }

    public async Task DisposeAsync()
    {
        await Orch.DisposeAsync();
        Cli.Dispose();
    }
}
