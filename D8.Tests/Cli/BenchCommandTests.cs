using System.Text.Json;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>d8 bench: the figures it reports come from the results the worker reported. A fresh orchestrator per test:
/// bench takes any queued task's worker, and one test checks that nothing at all was submitted.</summary>
public sealed class BenchCommandTests : CliOrchestratorTests
{
    [Fact]
    public async Task Bench_reports_median_and_spread_of_tokens_per_second_and_time_to_first_token()
    {
        double[] speeds = [10, 30, 20, 40, 50];
        await using var worker = await TestWorker.StartAsync(Orch,
            (_, n) => TestWorker.Success("ok", tokens: 50, tps: speeds[n], ttftMs: 100 * (n + 1)), name: "pi-bench");

        var result = await Cli.RunAsync("bench", "--count", "5", "--worker", "pi-bench", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        var root = doc.RootElement;
        Assert.Equal(5, root.GetProperty("requested").GetInt32());
        Assert.Equal(1.0, root.GetProperty("success_rate").GetDouble());
        Assert.Equal(30, root.GetProperty("tokens_per_second").GetProperty("median").GetDouble(), 3);
        Assert.Equal(10, root.GetProperty("tokens_per_second").GetProperty("min").GetDouble(), 3);
        Assert.Equal(50, root.GetProperty("tokens_per_second").GetProperty("max").GetDouble(), 3);
        Assert.Equal(Math.Sqrt(250), root.GetProperty("tokens_per_second").GetProperty("std_dev").GetDouble(), 3);
        Assert.Equal(300, root.GetProperty("time_to_first_token_ms").GetProperty("median").GetDouble(), 3);
        // --worker pins the worker's provider and default model.
        Assert.Equal("groq", root.GetProperty("provider").GetString());
        Assert.Equal("llama-3.1-8b-instant", root.GetProperty("model").GetString());
        Assert.All(root.GetProperty("runs").EnumerateArray(), r => Assert.Equal("pi-bench", r.GetProperty("worker").GetString()));
    }

    [Fact]
    public async Task Bench_table_shows_success_rate_and_exits_1_when_a_run_fails()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (_, n) => n == 1
            ? new FailTaskRequest { LeaseId = "", Kind = FailureKind.Permanent, Message = "boom" }
            : TestWorker.Success("ok", tps: 25));

        var result = await Cli.RunAsync("bench", "-n", "3");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("success rate: 2/3", result.Out);
        Assert.Contains("[3/3]", result.Out); // progress lines when there is no terminal
        Assert.Contains("tokens/s", result.Out);
        Assert.Contains("25.0", result.Out);
        Assert.Contains("boom", result.Out);
    }

    [Fact]
    public async Task Bench_with_an_unknown_worker_name_fails_before_submitting()
    {
        var result = await Cli.RunAsync("bench", "--worker", "nobody");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no worker named 'nobody'", result.Err);
        Assert.Equal(0, (await Orch.CreateClient().GetStatsAsync()).Tasks.Values.Sum());
    }
}
