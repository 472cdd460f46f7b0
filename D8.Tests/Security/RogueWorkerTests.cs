using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using D8.Contracts;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using D8.Tests.Worker;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>
/// A registered worker that reports absurd speeds gets no more of the queue than it earns by what the orchestrator
/// observes; an operator can revoke a worker; a rotated join token can revoke every worker token issued before it.
/// </summary>
public sealed class RogueWorkerTests(ITestOutputHelper output)
{
    private const string Model = "llama-3.1-8b-instant";

    [Fact]
    public async Task A_worker_reporting_absurd_speeds_gets_no_more_than_its_measured_share()
    {
        // Both workers answer through the same emulator at the same real pace: 20 tokens, 10 ms apart.
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-rogue", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = 20, TokenDelay = TimeSpan.FromMilliseconds(10),
            RateLimitRequests = 100_000, RateLimitTokens = 10_000_000,
        });
        await using var fleet = await WorkerFleet.StartAsync(output);
        fleet.StartWorker("honest", "groq", groq.BaseUrl + "/openai/v1", new Dictionary<string, string?> { ["D8_CONCURRENCY"] = "1" });
        await fleet.WaitForWorkerAsync("honest");

        using var http = new HttpClient { BaseAddress = fleet.BaseUrl, Timeout = TimeSpan.FromSeconds(90) };
        var rogue = await new OrchestratorClient(http) { JoinToken = fleet.JoinToken }.RegisterWorkerAsync(new RegisterWorkerRequest { Name = "rogue", Provider = "groq", Models = [Model], MaxConcurrency = 1 });
        using var stop = new CancellationTokenSource();
        var rogueLoop = RunRogueAsync(rogue, new Uri(groq.BaseUrl + "/openai/v1/chat/completions"), stop.Token);

        const int count = 40;
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "task " + i, Provider = "groq", MaxTokens = 20 })).Id);
        }
        var byWorker = new Dictionary<string, int>();
        foreach (var id in ids)
        {
            var task = await fleet.WaitForTerminalAsync(id);
            Assert.Equal(TaskState.Succeeded, task.State);
            var name = task.Result!.WorkerName ?? "?";
            byWorker[name] = byWorker.GetValueOrDefault(name) + 1;
        }
        await stop.CancelAsync();
        await rogueLoop;

        var rogueShare = byWorker.GetValueOrDefault("rogue") / (double)count;
        output.WriteLine($"tasks by worker: {string.Join(", ", byWorker.Select(kv => $"{kv.Key}={kv.Value}"))}; speculations {(await fleet.Client.GetStatsAsync()).Speculations}");
        // Equal real speed: about half each. Believing its figures, the scheduler would hand it nearly all of them.
        Assert.InRange(rogueShare, 0, 0.75);
        var speeds = (await fleet.Client.GetWorkersAsync()).Single(w => w.Name == "rogue").Speeds;
        Assert.All(speeds, s => Assert.True(s.TokensPerSecond < 10_000, $"rogue measured at {s.TokensPerSecond} tokens/s"));
    }

    /// <summary>Leases one task at a time, really asks the emulator, and reports a million tokens in a millisecond.</summary>
    private static async Task RunRogueAsync(WorkerClient rogue, Uri chat, CancellationToken ct)
    {
        using var provider = new HttpClient();
        provider.DefaultRequestHeaders.Authorization = new("Bearer", WorkerFleet.EmulatorKey);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                foreach (var lease in await rogue.LeaseAsync(1, TimeSpan.FromSeconds(5), ct))
                {
                    using var answer = await provider.PostAsJsonAsync(chat, new { model = Model, messages = new[] { new { role = "user", content = "x" } } }, ct);
                    using var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct));
                    var content = body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() ?? "";
                    try
                    {
                        await rogue.CompleteAsync(lease.TaskId, new CompleteTaskRequest
                        {
                            LeaseId = lease.LeaseId, Content = content, Usage = new TokenUsage(1, 1_000_000, 1_000_001),
                            TimeToFirstTokenMs = 0, DurationMs = 1, TokensPerSecond = 1e9,
                        }, ct);
                    }
                    catch (OrchestratorException e) when (e.Status == HttpStatusCode.Conflict)
                    {
                        // Lost a speculation race: the other run finished first.
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The test is over.
        }
    }

    [Fact]
    public async Task An_operator_revokes_a_worker_with_the_api_key_and_d8_workers_revoke()
    {
        await using var orch = await InProcessOrchestrator.StartAsync();
        var worker = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "suspect", Provider = "groq", Models = ["m"], MaxConcurrency = 1 });
        var client = orch.CreateClient();
        var id = (await client.SubmitAsync(new SubmitTaskRequest { Prompt = "p", Provider = "groq" })).Id;
        var lease = Assert.Single(await worker.LeaseAsync(1, TimeSpan.Zero));

        await client.RevokeWorkerAsync(worker.Id);

        var refused = await Assert.ThrowsAsync<OrchestratorException>(() => worker.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        var task = await client.GetTaskAsync(id);
        Assert.Equal(TaskState.Queued, task.State);
        Assert.Equal(0, task.Attempts);
        Assert.Equal(WorkerState.Gone, (await client.GetWorkersAsync()).Single(w => w.Id == worker.Id).State);
        var unknown = await Assert.ThrowsAsync<OrchestratorException>(() => client.RevokeWorkerAsync("no-such-worker"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.NotNull(lease);

        // The same through d8.
        var second = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "second", Provider = "groq", Models = ["m"], MaxConcurrency = 1 });
        using var cli = new Cli.CliRun();
        var result = await cli.RunAsync("workers", "revoke", second.Id, "--url", orch.BaseUrl.AbsoluteUri, "--api-key", orch.ApiKey);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("revoked " + second.Id, result.Out, StringComparison.Ordinal);
        await Assert.ThrowsAsync<OrchestratorException>(() => second.HeartbeatAsync(new HeartbeatRequest()));
    }

    [Fact]
    public async Task A_rotated_join_token_revokes_older_worker_tokens_only_when_asked()
    {
        await using var first = await InProcessOrchestrator.StartAsync();
        var kept = await first.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "kept", Provider = "groq", Models = ["m"], MaxConcurrency = 1 });
        await first.StopAsync();

        // A new join token without the option: registered workers keep their tokens.
        await using (var rotated = await InProcessOrchestrator.StartAsync(new Dictionary<string, string?>
                     { ["D8_JOIN_TOKEN"] = "rotated-" + Guid.NewGuid().ToString("N") }, first.DbPath))
        {
            await new WorkerClient(rotated.CreateHttpClient(), kept.Id, kept.Token).HeartbeatAsync(new HeartbeatRequest());
        }

        // With D8_REVOKE_ON_JOIN_ROTATION: tokens issued under the old join token stop working.
        await using var revoking = await InProcessOrchestrator.StartAsync(new Dictionary<string, string?>
        {
            ["D8_JOIN_TOKEN"] = "rotated-again-" + Guid.NewGuid().ToString("N"), ["D8_REVOKE_ON_JOIN_ROTATION"] = "true",
        }, first.DbPath);
        var old = new WorkerClient(revoking.CreateHttpClient(), kept.Id, kept.Token);
        var refused = await Assert.ThrowsAsync<OrchestratorException>(() => old.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
    }
}
