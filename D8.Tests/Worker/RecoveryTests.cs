using System.Net.Http.Headers;
using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>
/// Recovery paths of the worker protocol, with a real orchestrator and worker process: re-registering on a fresh
/// orchestrator database, a result reported through an orchestrator outage, a drain asked over the API, and the
/// provider request timeout.
/// </summary>
public class RecoveryTests(ITestOutputHelper output) : StoreTests
{
    [StoreFact(SqliteOnly = true)]
    public async Task Worker_registers_again_when_a_fresh_orchestrator_database_refuses_its_token_and_carries_on()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-fresh-db", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output, Store.Apply());
        var worker = fleet.StartWorker("groq-fresh-db", "groq", groq.BaseUrl + "/openai/v1");
        var before = await fleet.WaitForWorkerAsync("groq-fresh-db");

        await fleet.Orchestrator!.StopAsync(WorkerFleet.Timeout);
        TempDatabase.Delete(fleet.DbPath);
        await fleet.StartOrchestratorAsync();
        await worker.WaitForOutputAsync("no longer knows this worker's token", WorkerFleet.Timeout);
        var after = await fleet.WaitForWorkerAsync("groq-fresh-db");
        var task = await fleet.WaitForTerminalAsync((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "fresh" })).Id);

        Assert.NotEqual(before.Id, after.Id);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(after.Id, task.Result!.WorkerId);
        Assert.Single(await fleet.Client.GetWorkersAsync());
    }

    [StoreFact]
    public async Task A_result_finished_while_the_orchestrator_is_down_is_reported_again_and_recorded_once()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-outage", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = 10, TokenDelay = TimeSpan.FromMilliseconds(400),
        });
        // A lease long enough to outlive the outage on a loaded machine.
        await using var fleet = await WorkerFleet.StartAsync(output, Store.Apply(new Dictionary<string, string?> { ["D8_LEASE_SECONDS"] = "120" }));
        var worker = fleet.StartWorker("groq-outage", "groq", groq.BaseUrl + "/openai/v1");
        var registered = await fleet.WaitForWorkerAsync("groq-outage");
        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "through the outage" });
        await groq.WaitForRequestAsync("/chat/completions", WorkerFleet.Timeout);

        await fleet.Orchestrator!.StopAsync(WorkerFleet.Timeout);
        await worker.WaitForOutputAsync($"Reporting task {submitted.Id} failed", WorkerFleet.Timeout);
        await fleet.StartOrchestratorAsync();
        var task = await fleet.WaitForTerminalAsync(submitted.Id);

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(1, task.Attempts);
        Assert.Empty(task.Errors);
        Assert.Equal(registered.Id, task.Result!.WorkerId);
        Assert.Equal(EmulatorAnswer.Text("groq-outage", "through the outage", 10), task.Result.Content);
        Assert.Single(groq.Requests.Snapshot(), r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
    }

    [StoreFact]
    public async Task Drain_over_the_api_lets_the_worker_finish_deregister_and_exit_0()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-drained", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = 10, TokenDelay = TimeSpan.FromMilliseconds(200),
        });
        await using var fleet = await WorkerFleet.StartAsync(output, Store.Apply());
        var worker = fleet.StartWorker("groq-drained", "groq", groq.BaseUrl + "/openai/v1");
        var registered = await fleet.WaitForWorkerAsync("groq-drained");
        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "finish first" });
        await groq.WaitForRequestAsync("/chat/completions", WorkerFleet.Timeout);

        using var http = new HttpClient { BaseAddress = fleet.BaseUrl };
        using var drain = new HttpRequestMessage(HttpMethod.Post, $"api/workers/{registered.Id}/drain");
        drain.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fleet.ApiKey);
        using var answer = await http.SendAsync(drain);
        var exitCode = await worker.WaitForExitAsync(WorkerFleet.Timeout);
        var task = await fleet.Client.GetTaskAsync(submitted.Id);

        Assert.True(answer.IsSuccessStatusCode, answer.StatusCode.ToString());
        Assert.Equal(0, exitCode);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(registered.Id, task.Result!.WorkerId);
        var gone = await fleet.WaitForWorkerAsync("groq-drained", w => w.State == WorkerState.Gone);
        Assert.Equal(registered.Id, gone.Id);
    }

    [StoreFact]
    public async Task A_provider_call_over_D8_REQUEST_TIMEOUT_SECONDS_fails_as_transient()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-hung", ApiKey = WorkerFleet.EmulatorKey });
        groq.SetStickyFault(Fault.Hang());
        await using var fleet = await WorkerFleet.StartAsync(output, Store.Apply(new Dictionary<string, string?> { ["D8_MAX_ATTEMPTS"] = "1" }));
        fleet.StartWorker("groq-hung", "groq", groq.BaseUrl + "/openai/v1",
            new Dictionary<string, string?> { ["D8_REQUEST_TIMEOUT_SECONDS"] = "1" });
        await fleet.WaitForWorkerAsync("groq-hung");

        var task = await fleet.WaitForTerminalAsync((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "hangs" })).Id);

        Assert.Equal(TaskState.Failed, task.State);
        var error = Assert.Single(task.Errors);
        Assert.Equal(FailureKind.Transient, error.Kind);
        Assert.Contains("D8_REQUEST_TIMEOUT_SECONDS (1s)", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The same process tests with the orchestrator on PostgreSQL (D8_STORE=postgres).</summary>
public sealed class PostgresRecoveryTests(ITestOutputHelper output) : RecoveryTests(output), IPostgresStoreTests;
