using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>The built d8 (D8.Cli.dll) run as a real process against a real orchestrator.</summary>
public sealed class CliProcessTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    private async Task<(int ExitCode, string Output)> RunAsync(string apiKey, params string[] args)
    {
        await using var process = ProcessHost.Start("D8.Cli", new Dictionary<string, string?>
        {
            ["D8_ORCHESTRATOR_URL"] = _orch.BaseUrl.AbsoluteUri,
            ["D8_API_KEY"] = apiKey,
            ["D8_CONFIG"] = Path.Combine(Path.GetTempPath(), $"d8-none-{Guid.NewGuid():N}.json"),
        }, args, name: "d8");
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(90));
        return (code, process.Output);
    }

    [Fact]
    public async Task Built_d8_submits_waits_and_prints_the_result()
    {
        await using var worker = await TestWorker.StartAsync(_orch, (_, _) => TestWorker.Success("print('hello')"));

        var (code, output) = await RunAsync(_orch.ApiKey, "submit", "say hello in python", "--wait");

        Assert.True(code == 0, output);
        Assert.Contains("print('hello')", output);
    }

    [Fact]
    public async Task Built_d8_prints_one_error_line_without_a_stack_trace_and_exits_1()
    {
        var (code, output) = await RunAsync("wrong-key", "status");

        Assert.Equal(1, code);
        var line = Assert.Single(output.Trim().Split('\n'));
        Assert.StartsWith("d8: orchestrator answered 401", line);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task Built_d8_help_lists_the_commands_under_the_tool_name()
    {
        var (code, output) = await RunAsync(_orch.ApiKey, "--help");

        Assert.Equal(0, code);
        Assert.Contains("d8 [command] [options]", output);
        foreach (var command in new[] { "setup", "doctor", "status", "submit", "tasks", "task", "cancel", "bench", "ollama" })
        {
            Assert.Contains("  " + command, output);
        }
    }

    [Fact]
    public async Task Built_d8_rejects_an_unknown_command_with_a_usage_error()
    {
        var (code, output) = await RunAsync(_orch.ApiKey, "frobnicate");

        Assert.NotEqual(0, code);
        Assert.Contains("frobnicate", output);
    }
}
