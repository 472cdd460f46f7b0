using System.Net;
using D8.Contracts;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Orchestrator;

/// <summary>What was acknowledged survives a restart: graceful (same file, new host) and kill -9 of a real process.</summary>
public class DurabilityApiTests(ITestOutputHelper output) : StoreTests
{
    [StoreFact]
    public async Task Restart_with_the_same_file_keeps_queued_and_leased_tasks_and_the_worker_carries_on()
    {
        await using var orch = await InProcessOrchestrator.StartAsync(Store.Apply());
        var client = orch.CreateClient();
        var worker = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "pi", Provider = "ollama", Models = ["m"], MaxConcurrency = 1 });
        var leasedId = (await client.SubmitAsync(new SubmitTaskRequest { Prompt = "long one", Priority = 9 })).Id;
        var queuedId = (await client.SubmitAsync(new SubmitTaskRequest { Prompt = "waiting", Priority = 1 })).Id;
        var lease = Assert.Single(await worker.LeaseAsync(1, TimeSpan.FromSeconds(10)));
        Assert.Equal(leasedId, lease.TaskId);

        await orch.RestartAsync();

        Assert.Equal(TaskState.Queued, (await client.GetTaskAsync(queuedId)).State);
        var leased = await client.GetTaskAsync(leasedId);
        Assert.Equal(TaskState.Leased, leased.State);
        Assert.Equal(worker.Id, leased.LeasedBy);
        // Same token, same lease: the worker heartbeats and completes as if nothing happened.
        var hb = await worker.HeartbeatAsync(new HeartbeatRequest { InFlight = 1, LeaseIds = [lease.LeaseId] });
        Assert.Empty(hb.LostLeases);
        await worker.CompleteAsync(leasedId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "done" });
        Assert.Equal(TaskState.Succeeded, (await client.GetTaskAsync(leasedId)).State);
        Assert.Equal(queuedId, Assert.Single(await worker.LeaseAsync(1, TimeSpan.FromSeconds(10))).TaskId);
    }

    [StoreFact]
    public async Task Kill_9_after_202_loses_no_acknowledged_task()
    {
        var db = TempDatabase.NewPath("kill");
        var env = new Dictionary<string, string?>(Store.Apply())
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_DB_PATH"] = db,
            ["D8_JOIN_TOKEN"] = "join-" + Guid.NewGuid().ToString("N"),
            ["D8_API_KEYS"] = "key-" + Guid.NewGuid().ToString("N"),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new OrchestratorClient(http) { ApiKey = env["D8_API_KEYS"] };
        var acknowledged = new List<string>();
        try
        {
            Uri baseUrl;
            await using (var first = ProcessHost.Start("D8.Orchestrator", env, log: output, name: "orchestrator-1"))
            {
                // The first start picks its port; the restart below binds the same one, as the client knows that address.
                baseUrl = new Uri($"http://127.0.0.1:{(await first.WaitForListeningAsync(TimeSpan.FromSeconds(60))).Port}/");
                env["ASPNETCORE_URLS"] = baseUrl.ToString().TrimEnd('/');
                http.BaseAddress = baseUrl;
                await first.WaitForHealthyAsync(new Uri(baseUrl, "health").ToString(), TimeSpan.FromSeconds(60));
                // Submit in concurrent waves (so group commits batch them), then kill mid-stream.
                for (var wave = 0; wave < 5; wave++)
                {
                    var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
                        client.SubmitAsync(new SubmitTaskRequest { Prompt = $"w{wave}-{i}" })));
                    acknowledged.AddRange(responses.Select(r => r.Id));
                }
                // More submits in flight while the process dies: those may or may not be stored, and that is fine.
                var inFlight = Enumerable.Range(0, 40).Select(i => client.SubmitAsync(new SubmitTaskRequest { Prompt = $"late{i}" })).ToArray();
                await first.KillAsync();
                foreach (var t in inFlight)
                {
                    try { acknowledged.Add((await t).Id); }
                    catch (HttpRequestException) { /* not acknowledged */ }
                    catch (TaskCanceledException) { /* not acknowledged */ }
                    catch (OrchestratorException) { /* not acknowledged */ }
                }
            }

            await using var second = ProcessHost.Start("D8.Orchestrator", env, log: output, name: "orchestrator-2");
            await second.WaitForHealthyAsync(new Uri(baseUrl, "health").ToString(), TimeSpan.FromSeconds(60));
            foreach (var id in acknowledged)
            {
                var view = await client.GetTaskAsync(id);
                Assert.Equal(TaskState.Queued, view.State);
            }
            Assert.True(acknowledged.Count >= 200);
            var stats = await client.GetStatsAsync();
            Assert.True(stats.Tasks["queued"] >= acknowledged.Count);
        }
        finally
        {
            TempDatabase.Delete(db);
        }
    }

    [StoreFact]
    public async Task Unknown_worker_after_a_fresh_database_is_told_to_register_again()
    {
        await using var orch = await InProcessOrchestrator.StartAsync(Store.Apply());
        var worker = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "w", Provider = "ollama", Models = ["m"] });
        await using var other = await InProcessOrchestrator.StartAsync((await FreshStoreAsync()).Apply());
        var stranger = new WorkerClient(other.CreateHttpClient(), worker.Id, worker.Token);
        var ex = await Assert.ThrowsAsync<OrchestratorException>(() => stranger.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.Status);
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresDurabilityApiTests(ITestOutputHelper output) : DurabilityApiTests(output), IPostgresStoreTests;
