using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>Shutdown, orchestrator restarts and Ollama model pulls, with real processes.</summary>
public sealed class LifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_lets_the_running_task_finish_then_deregisters_and_exits_0()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-draining", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = 10, TokenDelay = TimeSpan.FromMilliseconds(300),
        });
        await using var fleet = await WorkerFleet.StartAsync(output);
        var worker = fleet.StartWorker("groq-drain", "groq", groq.BaseUrl + "/openai/v1");
        var registered = await fleet.WaitForWorkerAsync("groq-drain");

        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "finish me", Provider = "groq" });
        await groq.WaitForRequestAsync("/chat/completions", WorkerFleet.Timeout);
        var exitCode = await worker.StopAsync(WorkerFleet.Timeout);
        var task = await fleet.Client.GetTaskAsync(submitted.Id);

        Assert.Equal(0, exitCode);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(EmulatorAnswer.Text("groq-draining", "finish me", 10), task.Result!.Content);
        Assert.Equal(registered.Id, task.Result.WorkerId);
        // The worker that ran the task is the one that left (the fleet is listed by id, not only by name).
        var gone = await fleet.WaitForWorkerAsync("groq-drain", w => w.State == WorkerState.Gone);
        Assert.Equal(registered.Id, gone.Id);
        Assert.DoesNotContain("   at ", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_releases_a_task_that_outlives_the_grace_period_so_it_requeues_at_once()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-hang", ApiKey = WorkerFleet.EmulatorKey });
        groq.SetStickyFault(Fault.Hang());
        await using var fleet = await WorkerFleet.StartAsync(output);
        var worker = fleet.StartWorker("groq-short-grace", "groq", groq.BaseUrl + "/openai/v1",
            new Dictionary<string, string?> { ["D8_SHUTDOWN_GRACE_SECONDS"] = "1" });
        await fleet.WaitForWorkerAsync("groq-short-grace");

        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "never ends", Provider = "groq" });
        await groq.WaitForRequestAsync("/chat/completions", WorkerFleet.Timeout);
        var exitCode = await worker.StopAsync(WorkerFleet.Timeout);
        var task = await fleet.Client.GetTaskAsync(submitted.Id);

        Assert.Equal(0, exitCode);
        Assert.Equal(TaskState.Queued, task.State);
        Assert.Equal(0, task.Attempts);
        Assert.Null(task.LeasedBy);
        await fleet.WaitForWorkerAsync("groq-short-grace", w => w.State == WorkerState.Gone);
    }

    [Fact]
    public async Task Orchestrator_stops_in_seconds_with_an_idle_worker_connected_and_the_worker_carries_on_after_the_restart()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-steady", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output);
        fleet.StartWorker("groq-steady", "groq", groq.BaseUrl + "/openai/v1");
        await fleet.WaitForWorkerAsync("groq-steady");
        var before = await fleet.WaitForTerminalAsync((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "before" })).Id);

        // The worker's next lease poll is parked (30 s) when the stop comes: it is answered at once, not waited out.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var exitCode = await fleet.Orchestrator!.StopAsync(WorkerFleet.Timeout);
        var stopTime = stopwatch.Elapsed;
        output.WriteLine($"orchestrator stop with a connected idle worker: {stopTime.TotalSeconds:F2} s");
        Assert.Equal(0, exitCode);
        Assert.True(stopTime < TimeSpan.FromSeconds(5), $"the stop took {stopTime.TotalSeconds:F1} s");
        Assert.DoesNotContain("   at ", fleet.Orchestrator.Output, StringComparison.Ordinal);
        await fleet.StartOrchestratorAsync();
        var after = await fleet.WaitForTerminalAsync((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "after" })).Id);

        Assert.Equal(TaskState.Succeeded, before.State);
        Assert.Equal(TaskState.Succeeded, after.State);
        Assert.Equal("groq-steady", after.Result!.WorkerName);
        Assert.Equal(EmulatorAnswer.Text("groq-steady", "after", 12), after.Result.Content);
    }

    [Fact]
    public async Task Missing_ollama_model_is_pulled_with_progress_then_the_worker_is_ready()
    {
        const string model = "deepseek-coder:1.3b";
        await using var ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions
        {
            Name = "fresh-pi", InstalledModels = [], PullableModels = [model], PullChunks = 10,
        });
        await using var fleet = await WorkerFleet.StartAsync(output);
        var worker = fleet.StartWorker("pi-fresh", "ollama", ollama.BaseUrl);

        await worker.WaitForOutputAsync("Model deepseek-coder:1.3b pulled", WorkerFleet.Timeout);
        var health = new Uri(await worker.WaitForListeningAsync(WorkerFleet.Timeout), "health");
        await worker.WaitForHealthyAsync(health.ToString(), WorkerFleet.Timeout);
        var task = await fleet.WaitForTerminalAsync((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "after pull" })).Id);

        Assert.Contains(model, ollama.InstalledModels);
        Assert.Contains("% of layer", worker.Output, StringComparison.Ordinal);
        Assert.Contains("100% of layer", worker.Output, StringComparison.Ordinal);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal("pi-fresh", task.Result!.WorkerName);
    }
}
