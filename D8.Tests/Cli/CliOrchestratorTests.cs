using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>
/// Base for d8 command tests against a real in-process orchestrator of their own (a fresh one per test): for classes
/// whose tests count over the whole database or need it empty (see docs/testing.md, "Shared fixtures"). The CLI's
/// connection settings point at it through D8_ORCHESTRATOR_URL and D8_API_KEY, as a user's environment would.
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
        CliOrchestrator.PointAt(Cli, Orch);
    }

    public async Task DisposeAsync()
    {
        await Orch.DisposeAsync();
        Cli.Dispose();
    }
}

/// <summary>One in-process orchestrator for a whole test class (<see cref="SharedCliOrchestratorTests"/>).</summary>
public sealed class CliOrchestrator : IAsyncLifetime
{
    public InProcessOrchestrator Orch { get; private set; } = null!;

    public async Task InitializeAsync() => Orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync() => await Orch.DisposeAsync();

    /// <summary>Points <paramref name="cli"/> at <paramref name="orch"/> through the environment, as a user would.</summary>
    public static void PointAt(CliRun cli, InProcessOrchestrator orch)
    {
        cli.Variables["D8_ORCHESTRATOR_URL"] = orch.BaseUrl.AbsoluteUri;
        cli.Variables["D8_API_KEY"] = orch.ApiKey;
    }
}

/// <summary>
/// Base for d8 command tests whose class shares one orchestrator: each test only submits, reads and validates and asserts
/// on its own tasks and workers, never on counts over the database (docs/testing.md, "Shared fixtures"). Each test still
/// gets its own CLI working folder and home.
/// </summary>
public abstract class SharedCliOrchestratorTests(CliOrchestrator shared) : IClassFixture<CliOrchestrator>, IDisposable
{
    private readonly CliRun _cli = CreateCli(shared.Orch);

    /// <summary>The orchestrator the commands talk to (shared by the class).</summary>
    protected InProcessOrchestrator Orch => shared.Orch;

    /// <summary>Runs d8 commands in-process with a controlled environment.</summary>
    protected CliRun Cli => _cli;

    public void Dispose()
    {
        _cli.Dispose();
        GC.SuppressFinalize(this);
    }

    private static CliRun CreateCli(InProcessOrchestrator orch)
    {
        var cli = new CliRun();
        CliOrchestrator.PointAt(cli, orch);
        return cli;
    }
}
