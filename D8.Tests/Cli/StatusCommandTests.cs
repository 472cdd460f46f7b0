using System.Text.Json;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>d8 status against a real orchestrator with a registered worker. A fresh orchestrator per test: status
/// shows counts over the whole database and every worker.</summary>
public sealed class StatusCommandTests : CliOrchestratorTests
{
    [Fact]
    public async Task Status_shows_each_worker_with_provider_model_state_and_the_queue_counts()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (_, _) => TestWorker.Success("x"), provider: "gemini",
            name: "cloud-gemini-1", "gemini-2.5-flash");
        // Two queued tasks the gemini worker cannot take (they need ollama), one it runs.
        await Cli.RunAsync("submit", "a", "--provider", "ollama");
        await Cli.RunAsync("submit", "b", "--provider", "ollama");
        Assert.Equal(0, (await Cli.RunAsync("submit", "c", "--wait")).ExitCode);

        var result = await Cli.RunAsync("status");

        Assert.True(result.ExitCode == 0, result.ToString());
        var row = result.Out.Split('\n').Single(l => l.Contains("cloud-gemini-1", StringComparison.Ordinal));
        Assert.Contains("gemini", row);
        Assert.Contains("gemini-2.5-flash", row);
        Assert.Contains("online", row);
        Assert.Contains("1/0", row); // done/failed
        Assert.Contains("queued 2", result.Out);
        Assert.Contains("succeeded 1", result.Out);
    }

    [Fact]
    public async Task Status_shows_the_measured_speed_and_the_queue_drain_time()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (_, _) => TestWorker.Success("x", tokens: 40, tps: 80, ttftMs: 50),
            name: "w-speed");
        Assert.Equal(0, (await Cli.RunAsync("submit", "s", "--wait")).ExitCode);

        var result = await Cli.RunAsync("status");
        var json = await Cli.RunAsync("status", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var row = result.Out.Split('\n').Single(l => l.Contains("w-speed", StringComparison.Ordinal));
        Assert.Contains("scheduler fastest", result.Out);
        using var doc = JsonDocument.Parse(json.Out);
        var speed = doc.RootElement.GetProperty("workers").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "w-speed")
            .GetProperty("speeds")[0];
        // The speed is what the orchestrator measured (lease to report), not the 80 tokens/s the worker claimed.
        var tps = speed.GetProperty("tokens_per_second").GetDouble();
        Assert.True(tps > 0);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{tps:0.#} ({speed.GetProperty("time_to_first_token_ms").GetDouble():0}ms)"), row);
        Assert.True(doc.RootElement.GetProperty("stats").TryGetProperty("drain_seconds", out _));
    }

    [Fact]
    public async Task Status_json_has_workers_and_stats()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (_, _) => TestWorker.Success("x"), name: "w-json");

        var result = await Cli.RunAsync("status", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal("w-json", doc.RootElement.GetProperty("workers")[0].GetProperty("name").GetString());
        Assert.True(doc.RootElement.GetProperty("stats").TryGetProperty("tasks", out _));
    }

    [Fact]
    public async Task Status_watch_keeps_refreshing_until_ctrl_c_and_then_exits_0()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (_, _) => TestWorker.Success("x"), name: "w-watch");
        Cli.Interactive = true; // a terminal: every refresh is drawn as it happens
        using var ctrlC = new CancellationTokenSource();
        var firstRender = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var changedRender = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = Cli.RunAsync(["status", "--watch", "--interval", "0.3"], ctrlC.Token, text =>
        {
            if (text.Contains("w-watch", StringComparison.Ordinal)) firstRender.TrySetResult(text);
            if (text.Contains("succeeded 1", StringComparison.Ordinal)) changedRender.TrySetResult();
        });
        var before = await firstRender.Task.WaitAsync(TimeSpan.FromSeconds(60));
        // The data changes after the first render: a task runs and succeeds; a later refresh must show it.
        Assert.Equal(0, (await Cli.RunAsync("submit", "watched", "--wait")).ExitCode);
        await changedRender.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await ctrlC.CancelAsync();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.DoesNotContain("succeeded 1", before);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Err);
    }

    [Fact]
    public async Task Status_against_an_unreachable_orchestrator_is_one_line_and_exit_1()
    {
        using var nothing = FreePort.Hold();
        var result = await Cli.RunAsync("status", "--url", nothing.Url);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("d8: cannot connect", Assert.Single(result.Err.Trim().Split('\n')));
    }
}
