using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.OpenAi;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>Rate limits and dead workers: the task moves to another worker and completes once.</summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private static Task<OpenAiEmulator> GroqAsync(string name, int tokens = 6, TimeSpan? delay = null) =>
        OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = name,
            ApiKey = WorkerFleet.EmulatorKey,
            TokensPerAnswer = tokens,
            TokenDelay = delay ?? TimeSpan.Zero,
        });

    [Fact]
    public async Task Rate_limited_provider_hands_the_task_to_another_worker_without_burning_an_attempt()
    {
        await using var limited = await GroqAsync("groq-limited");
        limited.SetStickyFault(Fault.RateLimited(retryAfterSeconds: 120));
        await using var healthy = await GroqAsync("groq-healthy");
        await using var fleet = await WorkerFleet.StartAsync(output);
        fleet.StartWorker("groq-a", "groq", limited.BaseUrl + "/openai/v1");
        await fleet.WaitForWorkerAsync("groq-a");

        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "busy?", Provider = "groq" });
        await limited.WaitForRequestAsync("/chat/completions", WorkerFleet.Timeout);
        var limitedWorker = await fleet.WaitForWorkerAsync("groq-a", w => w.CooldownUntil is not null);
        fleet.StartWorker("groq-b", "groq", healthy.BaseUrl + "/openai/v1");
        var task = await fleet.WaitForTerminalAsync(submitted.Id);

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal("groq-b", task.Result!.WorkerName);
        Assert.Equal(EmulatorAnswer.Text("groq-healthy", "busy?", 6), task.Result.Content);
        Assert.Equal(1, task.Attempts);
        var error = Assert.Single(task.Errors);
        Assert.Equal(FailureKind.RateLimited, error.Kind);
        // retry-after: 120 was honoured: the limited worker is cooling down for about two minutes.
        Assert.True(limitedWorker.CooldownUntil > DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60), $"cooldown {limitedWorker.CooldownUntil}");
        Assert.Single(limited.Requests.Snapshot(), r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Worker_killed_mid_task_loses_the_lease_and_another_worker_completes_it_once()
    {
        await using var slow = await GroqAsync("groq-slow", tokens: 40, delay: TimeSpan.FromMilliseconds(500));
        await using var fast = await GroqAsync("groq-fast");
        await using var fleet = await WorkerFleet.StartAsync(output, new Dictionary<string, string?>
        {
            // A 10 s lease renewed every 2 s: five heartbeats may be late on a loaded machine before a live worker
            // loses its lease, yet the killed worker's lease still runs out within the test's timeout.
            ["D8_LEASE_SECONDS"] = "10",
            ["D8_HEARTBEAT_SECONDS"] = "2",
            ["D8_OFFLINE_AFTER_SECONDS"] = "10",
        });
        var doomed = fleet.StartWorker("groq-doomed", "groq", slow.BaseUrl + "/openai/v1");
        await fleet.WaitForWorkerAsync("groq-doomed");

        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "survive", Provider = "groq" });
        await slow.WaitForRequestAsync("/chat/completions", WorkerFleet.Timeout);
        await doomed.KillAsync();
        fleet.StartWorker("groq-rescuer", "groq", fast.BaseUrl + "/openai/v1");
        var task = await fleet.WaitForTerminalAsync(submitted.Id);

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal("groq-rescuer", task.Result!.WorkerName);
        Assert.Equal(EmulatorAnswer.Text("groq-fast", "survive", 6), task.Result.Content);
        Assert.Single(fast.Requests.Snapshot(), r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        Assert.Contains(task.Errors, e => e.Kind == FailureKind.Transient);
    }
}
