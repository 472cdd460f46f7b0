using System.Collections.Concurrent;
using System.Diagnostics;
using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace D8.Tests.Leadership;

/// <summary>
/// The issue's proof: two orchestrator processes on one PostgreSQL database, three workers following both URLs, 2,000
/// tasks with idempotency keys submitted through a client following both, and <c>kill -9</c> of the active orchestrator
/// three times during the run (each killed one started again, as the new standby). Every acknowledged task ends exactly
/// once: one row per key, every one succeeded with its emulator's answer, none lost.
/// </summary>
public sealed class FailoverProcessTests(PostgresClusterFixture cluster, ITestOutputHelper log) : IClassFixture<PostgresClusterFixture>
{
    private const int Tasks = 2000;
    private const int Kills = 3;
    private const int Tokens = 4;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    [PostgresFact]
    public async Task Every_acknowledged_task_ends_exactly_once_through_three_kills_of_the_active_orchestrator()
    {
        using var run = new CancellationTokenSource(RunTimeout);
        var database = await cluster.Server.CreateDatabaseAsync("failover");
        // Worker leases of 10 s renewed every 2 s (late heartbeats on a loaded machine cannot expire a live lease);
        // enough attempts that a lease lost in a kill can never fail a task.
        await using var pair = new OrchestratorPair(database, log, leaseSeconds: 3, new Dictionary<string, string?>
        {
            ["D8_LEASE_SECONDS"] = "10",
            ["D8_HEARTBEAT_SECONDS"] = "2",
            ["D8_OFFLINE_AFTER_SECONDS"] = "10",
            ["D8_MAX_ATTEMPTS"] = "20",
        });
        pair.Start(0);
        await pair.WaitForRoleAsync(0, "active");
        pair.Start(1);
        await pair.WaitForRoleAsync(1, "standby");

        await using var provider = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-failover",
            ApiKey = ProcessFleet.EmulatorKey,
            TokensPerAnswer = Tokens,
            TokenDelay = TimeSpan.FromMilliseconds(5),
        });
        var both = string.Join(",", pair.Urls.Select(u => u.ToString().TrimEnd('/')));
        var workers = new List<ProcessHost>();
        try
        {
            for (var w = 0; w < 3; w++)
            {
                var settings = ProcessFleet.WorkerSettings(pair.Urls[0], pair.JoinToken, $"groq-{w}", "groq",
                    provider.BaseUrl + "/openai/v1");
                settings["D8_ORCHESTRATOR_URL"] = both;
                settings["D8_CONCURRENCY"] = "8";
                settings["D8_RPM"] = "0";
                settings["D8_TPM"] = "0";
                settings["D8_RPD"] = "0";
                workers.Add(ProcessHost.Start("D8.Worker", settings, log: log, name: $"groq-{w}"));
            }
            var client = pair.Client(0, 1);

            // Submitters retry every refusal and cut-off with the same key until the task is acknowledged.
            var acknowledged = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            var next = -1;
            var submitters = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < Tasks)
                {
                    var key = $"failover-{i}";
                    acknowledged[key] = (await RetryAsync(() => client.SubmitAsync(new SubmitTaskRequest
                    {
                        Prompt = $"task {i}", Provider = "groq", IdempotencyKey = key,
                    }, run.Token), run.Token)).Id;
                }
            }, run.Token)).ToList();

            // Kill -9 the active one three times while tasks are being submitted and run.
            var failovers = new List<TimeSpan>();
            for (var kill = 1; kill <= Kills; kill++)
            {
                var threshold = Tasks * kill / (Kills + 1);
                while (acknowledged.Count < threshold && !submitters.All(s => s.IsCompleted))
                {
                    await Task.Delay(50, run.Token); // polling the submitters' progress, not synchronisation
                }
                var active = await pair.ActiveAsync() ?? throw new InvalidOperationException("no active orchestrator before kill " + kill);
                var clock = Stopwatch.StartNew();
                await pair.Process(active)!.KillAsync();
                await pair.WaitForRoleAsync(1 - active, "active");
                failovers.Add(clock.Elapsed);
                log.WriteLine($"kill {kill}: orchestrator {active} killed with {acknowledged.Count} tasks acknowledged; the other serving after {clock.Elapsed.TotalSeconds:0.00} s");
                pair.Start(active);
                await pair.WaitForRoleAsync(active, "standby");
            }
            await Task.WhenAll(submitters);

            var ids = acknowledged.Values.ToHashSet(StringComparer.Ordinal);
            Assert.Equal(Tasks, acknowledged.Count);
            Assert.Equal(Tasks, ids.Count);
            foreach (var (key, id) in acknowledged)
            {
                var task = await RetryAsync(() => client.GetTaskAsync(id, TimeSpan.FromSeconds(30), run.Token), run.Token);
                while (!task.State.IsTerminal())
                {
                    task = await RetryAsync(() => client.GetTaskAsync(id, TimeSpan.FromSeconds(30), run.Token), run.Token);
                }
                Assert.True(task.State == TaskState.Succeeded, $"{key} ({id}) ended {task.State}: {string.Join("; ", task.Errors.Select(e => e.Message))}");
                Assert.Equal(EmulatorAnswer.Text("groq-failover", $"task {key["failover-".Length..]}", Tokens), task.Result!.Content);
            }

            // One row per key in the shared database, every one succeeded: nothing lost, nothing recorded twice.
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync(run.Token);
            await using var count = new NpgsqlCommand(
                "SELECT count(*), count(DISTINCT idem_key), count(*) FILTER (WHERE state = 'succeeded') FROM tasks WHERE idem_key LIKE 'failover-%'", connection);
            await using var reader = await count.ExecuteReaderAsync(run.Token);
            Assert.True(await reader.ReadAsync(run.Token));
            Assert.Equal((Tasks, Tasks, Tasks), ((int)reader.GetInt64(0), (int)reader.GetInt64(1), (int)reader.GetInt64(2)));
            log.WriteLine($"failover: {string.Join(", ", failovers.Select(f => $"{f.TotalSeconds:0.00} s"))} (lease 3 s)");
        }
        finally
        {
            foreach (var worker in workers) await worker.DisposeAsync();
        }
    }

    /// <summary>
    /// Retries a call the orchestrators could not answer (a kill mid-call, both between roles): the caller's own retry,
    /// as a real client makes it; the idempotency key makes a repeated submit the same task.
    /// </summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (e is HttpRequestException or OrchestratorException { Status: System.Net.HttpStatusCode.ServiceUnavailable }
                                          or TaskCanceledException && !ct.IsCancellationRequested)
            {
                await Task.Delay(200, ct); // back-off between a client's retries, not synchronisation
            }
        }
    }
}
