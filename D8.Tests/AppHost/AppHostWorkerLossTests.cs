using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;

namespace D8.Tests.AppHost;

/// <summary>
/// A worker of the real AppHost killed mid-task: its lease expires and the task completes on the other worker.
/// Runs its own app (a short lease) in the AppHost collection, so it never runs beside the shared one.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostWorkerLossTests
{
    [Fact]
    public async Task Worker_killed_mid_task_its_task_completes_on_the_other_worker_and_none_is_lost()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        using var data = new AppHostTestData();
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-emu" }, cts.Token);
        await using var gemini = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "gemini-emu" }, cts.Token);
        // Whichever worker leases the task first hangs inside the provider call, as a Pi in a long answer would.
        groq.SetStickyFault(Fault.Hang());
        gemini.SetStickyFault(Fault.Hang());

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
        [
            "--Ollama:Mode=none", "--Workers:Enabled=groq,gemini",
            "--Parameters:join-token=loss-join-token-0123456789", $"--Parameters:api-key={AppHostFixture.ApiKey}",
            "--Parameters:groq-api-key=k1", "--Parameters:gemini-api-key=k2",
            $"--Workers:groq:BaseUrl={groq.V1Endpoint}", $"--Workers:gemini:BaseUrl={gemini.V1Endpoint}",
            data.Argument,
        ], cts.Token);
        var orchestratorResource = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "orchestrator");
        builder.CreateResourceBuilder(orchestratorResource)
            // 10 s lease, 2 s heartbeat: the survivor keeps its lease through several late heartbeats on a loaded machine.
            .WithEnvironment("D8_HEARTBEAT_SECONDS", "2")
            .WithEnvironment("D8_LEASE_SECONDS", "10")
            .WithEnvironment("D8_OFFLINE_AFTER_SECONDS", "10");
        await using var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        foreach (var name in new[] { "orchestrator", "worker-groq", "worker-gemini" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        }
        using var http = app.CreateHttpClient("orchestrator", "http");
        var client = new OrchestratorClient(http) { ApiKey = AppHostFixture.ApiKey };

        var submitted = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "survive a crash" }, cts.Token);
        var first = await Task.WhenAny(
            groq.WaitForRequestAsync("/chat/completions", TimeSpan.FromMinutes(2), cts.Token).ContinueWith(_ => "groq", TaskScheduler.Default),
            gemini.WaitForRequestAsync("/chat/completions", TimeSpan.FromMinutes(2), cts.Token).ContinueWith(_ => "gemini", TaskScheduler.Default));
        var victim = await first;
        var survivor = victim == "groq" ? "gemini" : "groq";
        EmulatorHost survivorEmulator = survivor == "groq" ? groq : gemini;
        survivorEmulator.SetStickyFault(null);

        Assert.True(app.ResourceNotifications.TryGetCurrentState("worker-" + victim, out var state));
        var pid = state!.Snapshot.Properties.Single(p => p.Name == "executable.pid").Value;
        using (var process = Process.GetProcessById(Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture)))
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(cts.Token);
        }

        var task = await client.WaitUntilFinishedAsync(submitted.Id, TimeSpan.FromMinutes(2), cts.Token);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(survivor, task.Result!.Provider);
        Assert.Equal("worker-" + survivor, task.Result.WorkerName);
        Assert.Equal(2, task.Attempts);
        Assert.Contains(survivor + "-emu", task.Result.Content);
        var fleet = await client.GetWorkersAsync(cts.Token);
        // The killed registration is kept in the fleet view, marked offline (the Python original deleted it).
        Assert.Contains(fleet, w => w.Name == "worker-" + victim && w.State == WorkerState.Offline);
    }
}
