using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>The fastest scheduler with real orchestrator and worker processes against emulators: placement by
/// measured speed, budgets in heartbeats, and the speculation cancel path.</summary>
public sealed class SchedulingProcessTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> Fast = new() { ["D8_SCHEDULER_RECHECK_MS"] = "100" };

    private static Task<OpenAiEmulator> CloudAsync(double tokensPerSecond, OpenAiEmulatorOptions? options = null)
    {
        options ??= new OpenAiEmulatorOptions();
        options.Name = "cloud";
        options.ApiKey = WorkerFleet.EmulatorKey;
        options.TokensPerAnswer = 10_000;
        options.TokenDelay = TimeSpan.FromSeconds(1 / tokensPerSecond);
        return OpenAiEmulator.StartAsync(options);
    }

    private static Task<OllamaEmulator> PiAsync(double tokensPerSecond) =>
        OllamaEmulator.StartAsync(new OllamaEmulatorOptions
        {
            Name = "pi", TokensPerAnswer = 10_000, TokenDelay = TimeSpan.FromSeconds(1 / tokensPerSecond),
        });

    private static readonly Dictionary<string, string?> NoBudget = new() { ["D8_RPM"] = "0", ["D8_TPM"] = "0", ["D8_RPD"] = "0" };

    private static async Task<TaskView> RunAsync(WorkerFleet fleet, int maxTokens, string? provider = null) =>
        await fleet.WaitForTerminalAsync((await fleet.Client.SubmitAsync(new SubmitTaskRequest
        {
            Prompt = "warm-up", MaxTokens = maxTokens, Provider = provider,
        })).Id);

    [Fact]
    public async Task A_slow_worker_is_not_given_tasks_the_fast_worker_finishes_sooner()
    {
        // 1000 vs 4 tokens/s configured (250×), so the measured ratio stays far above what the rule needs even when
        // the cloud's measured speed is dragged down by HTTP overhead on a loaded machine.
        await using var cloud = await CloudAsync(1000);
        await using var pi = await PiAsync(4);
        await using var fleet = await WorkerFleet.StartAsync(output, Fast);
        fleet.StartWorker("cloud-1", "groq", cloud.BaseUrl + "/openai/v1", new Dictionary<string, string?>(NoBudget) { ["D8_CONCURRENCY"] = "2" });
        fleet.StartWorker("pi-1", "ollama", pi.BaseUrl);
        await fleet.WaitForWorkerAsync("cloud-1");
        await fleet.WaitForWorkerAsync("pi-1");
        // Each worker runs one task pinned to it, so the orchestrator has measured both. The cloud's is 1000 tokens (1 s):
        // the speed is measured lease to report, and seconds of HTTP overhead on a loaded machine (load average 85 on 2
        // cores measured 25 tokens/s for a 50-token task) must not be most of it.
        Assert.Equal("cloud-1", (await RunAsync(fleet, 1000, "groq")).Result!.WorkerName);
        Assert.Equal("pi-1", (await RunAsync(fleet, 8, "ollama")).Result!.WorkerName);
        var pi1 = await fleet.WaitForWorkerAsync("pi-1", w => w.Speeds.Count == 1);
        var cloud1 = await fleet.WaitForWorkerAsync("cloud-1", w => w.Speeds.Count == 1);
        var piSpeed = pi1.Speeds[0].TokensPerSecond;
        var cloudSpeed = cloud1.Speeds[0].TokensPerSecond;
        Assert.InRange(piSpeed, 1, 5);

        // The placement rule gives a task to the worker whose estimated finish (its queue included) is soonest. Ten
        // tasks of 50 tokens on the cloud's 2 slots are 5 rounds, each 50 / cloudSpeed; one on the pi is 50 / piSpeed.
        // Whenever the measured ratio exceeds 5 the cloud's last task is still estimated sooner than the pi's first,
        // so the rule guarantees the pi gets none of them. Assert that premise on the measured speeds, then the outcome.
        Assert.True(cloudSpeed / piSpeed > 10, $"measured cloud {cloudSpeed:0.#} vs pi {piSpeed:0.#} tokens/s");
        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = $"t{i}", MaxTokens = 50 })).Id);
        }
        foreach (var id in ids)
        {
            var task = await fleet.WaitForTerminalAsync(id);
            Assert.Equal(TaskState.Succeeded, task.State);
            Assert.Equal("cloud-1", task.Result!.WorkerName);
        }
        Assert.Equal(1, (await fleet.WaitForWorkerAsync("pi-1")).TasksSucceeded);
    }

    [Fact]
    public async Task A_worker_out_of_budget_reports_it_in_heartbeats_and_holds_no_lease_while_it_waits()
    {
        await using var cloud = await CloudAsync(1000);
        await using var fleet = await WorkerFleet.StartAsync(output, Fast);
        fleet.StartWorker("gemini-1", "gemini", cloud.BaseUrl + "/v1beta/openai",
            new Dictionary<string, string?> { ["D8_RPM"] = "1", ["D8_TPM"] = "0", ["D8_RPD"] = "20" });
        await fleet.WaitForWorkerAsync("gemini-1");

        Assert.Equal(TaskState.Succeeded, (await RunAsync(fleet, 10)).State);
        var second = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "second", MaxTokens = 10 });

        // The minute's one request is spent: the heartbeat says so, and the task stays queued (no lease held). A heartbeat
        // sent while the first task's result was being reported still counts that run in flight (its budget is already
        // spent), so wait for the one after it: a worker that leased the second task would never report 0 and time out.
        var worker = await fleet.WaitForWorkerAsync("gemini-1", w => w.BudgetReadyAt is not null && w.InFlight == 0);
        Assert.True(worker.BudgetReadyAt > DateTimeOffset.UtcNow.AddSeconds(20));
        Assert.Contains(worker.Budget, b => b is { Window: "requests_per_minute", Used: 1, Limit: 1 });
        Assert.Contains(worker.Budget, b => b is { Window: "requests_per_day", Used: 1, Limit: 20 });
        var view = await fleet.Client.GetTaskAsync(second.Id);
        Assert.Equal((TaskState.Queued, 0), (view.State, view.Attempts));
        Assert.Single(cloud.Requests.Snapshot(), r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_straggler_is_copied_to_an_idle_fast_worker_whose_result_wins_and_the_slow_run_is_cancelled()
    {
        await using var cloud = await CloudAsync(300);
        await using var pi = await PiAsync(4);
        await using var fleet = await WorkerFleet.StartAsync(output, Fast);
        fleet.StartWorker("cloud-1", "groq", cloud.BaseUrl + "/openai/v1", new Dictionary<string, string?>(NoBudget) { ["D8_CONCURRENCY"] = "1" });
        var piProcess = fleet.StartWorker("pi-1", "ollama", pi.BaseUrl);
        await fleet.WaitForWorkerAsync("cloud-1");
        await fleet.WaitForWorkerAsync("pi-1");
        Assert.Equal("cloud-1", (await RunAsync(fleet, 30, "groq")).Result!.WorkerName);

        // The cloud is busy with a pinned task when the unpinned one arrives, so the (unmeasured) pi takes it.
        var busy = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "busy", MaxTokens = 300, Provider = "groq" });
        await cloud.WaitForRequestAsync(r => r.Body.Contains("busy", StringComparison.Ordinal), WorkerFleet.Timeout);
        var straggler = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "straggler", MaxTokens = 100 });
        await pi.WaitForRequestAsync(r => r.Body.Contains("straggler", StringComparison.Ordinal), WorkerFleet.Timeout);
        Assert.Equal(TaskState.Succeeded, (await fleet.WaitForTerminalAsync(busy.Id)).State);

        // The pi needs 25 s; the idle cloud copies the task and finishes in a third of a second.
        var task = await fleet.WaitForTerminalAsync(straggler.Id);

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal("cloud-1", task.Result!.WorkerName);
        Assert.Equal(1, task.Attempts);
        await piProcess.WaitForOutputAsync($"Task {straggler.Id} stopped: Lost", WorkerFleet.Timeout);
        var stats = await fleet.Client.GetStatsAsync();
        Assert.Equal((1, 1), (stats.Speculations, stats.SpeculationsWon));
        // The pi's next heartbeat says it runs nothing any more.
        var pi1 = await fleet.WaitForWorkerAsync("pi-1", w => w.InFlight == 0);
        Assert.Equal(0, pi1.TasksSucceeded);
        // Usage counted once: the reported total is the sum of the recorded results, nothing of the cancelled run.
        var succeeded = (await fleet.Client.ListTasksAsync(TaskState.Succeeded, 100)).Items;
        Assert.Equal(3, succeeded.Count);
        Assert.Equal(stats.TokensReported, succeeded.Sum(t => (long)(t.Result?.Usage?.TotalTokens ?? 0)));
    }
}
