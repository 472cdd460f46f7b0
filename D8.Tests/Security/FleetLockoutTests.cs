using System.Net;
using D8.Contracts;
using D8.Emulators.OpenAi;
using D8.Tests.Worker;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>A guesser at a worker's own address cannot make that worker's heartbeats, leases or reports fail (real processes).</summary>
public sealed class FleetLockoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Guessing_from_a_workers_address_does_not_slow_the_worker()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-lockout", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = 4,
            RateLimitRequests = 10_000, RateLimitTokens = 1_000_000,
        });
        await using var fleet = await WorkerFleet.StartAsync(output, new Dictionary<string, string?>
        {
            ["D8_AUTH_FAILURE_LIMIT"] = "3",
            ["D8_AUTH_FAILURE_WINDOW_SECONDS"] = "600",
        });
        fleet.StartWorker("steady", "groq", groq.BaseUrl + "/openai/v1");
        var worker = await fleet.WaitForWorkerAsync("steady");

        // Same address as the worker process (127.0.0.1), well past the limit: wrong join secrets and wrong worker tokens.
        using var http = new HttpClient { BaseAddress = fleet.BaseUrl };
        var joinGuesser = new OrchestratorClient(http) { JoinToken = "guess" };
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++) statuses.Add((await Assert.ThrowsAsync<OrchestratorException>(() => joinGuesser.CheckJoinTokenAsync())).Status);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        var tokenGuesser = new WorkerClient(http, worker.Id, "guess");
        for (var i = 0; i < 10; i++)
        {
            var refused = await Assert.ThrowsAsync<OrchestratorException>(() => tokenGuesser.HeartbeatAsync(new HeartbeatRequest()));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        }

        // The worker at that address goes on leasing and completing; the client's API key is another scheme.
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "p" + i, Provider = "groq" })).Id);
        foreach (var id in ids)
        {
            var task = await fleet.WaitForTerminalAsync(id);
            Assert.Equal(TaskState.Succeeded, task.State);
            Assert.Equal(1, task.Attempts);
        }
        Assert.Contains(WorkerState.Online, (await fleet.Client.GetWorkersAsync()).Where(w => w.Name == "steady").Select(w => w.State));
    }
}
