using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>
/// A worker speaking the real protocol to the orchestrator (register, long-poll leases, complete/fail), whose
/// answers each test scripts. It lets CLI tests drive tasks to an exact, known result.
/// </summary>
public sealed class TestWorker : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private TestWorker(WorkerClient client, Func<TaskLease, int, object> answer)
    {
        Client = client;
        _loop = Task.Run(() => LoopAsync(answer));
    }

    public WorkerClient Client { get; }

    /// <summary>Registers a worker; <paramref name="answer"/> gets each lease and its 0-based sequence number and returns a CompleteTaskRequest or FailTaskRequest (lease id filled in here).</summary>
    public static async Task<TestWorker> StartAsync(InProcessOrchestrator orch, Func<TaskLease, int, object> answer,
        string provider = "groq", string name = "test-worker", params string[] models)
    {
        var client = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest
        {
            Name = name,
            Provider = provider,
            Models = models.Length > 0 ? models : ["llama-3.1-8b-instant"],
            MaxConcurrency = 1,
        });
        return new TestWorker(client, answer);
    }

    /// <summary>Registers a worker that also runs the given task kinds (e.g. the evolve.* kinds).</summary>
    public static async Task<TestWorker> StartAsync(InProcessOrchestrator orch, Func<TaskLease, int, object> answer,
        IReadOnlyList<string> kinds, string provider = "groq", string name = "test-worker", int concurrency = 1)
    {
        var client = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest
        {
            Name = name,
            Provider = provider,
            Models = ["llama-3.1-8b-instant"],
            TaskKinds = kinds,
            MaxConcurrency = concurrency,
        });
        return new TestWorker(client, answer);
    }

    /// <summary>A successful answer with the given speed figures.</summary>
    public static CompleteTaskRequest Success(string content, int tokens = 10, double tps = 20, double ttftMs = 100) => new()
    {
        LeaseId = "",
        Content = content,
        FinishReason = "stop",
        Model = "llama-3.1-8b-instant",
        Usage = new TokenUsage(5, tokens, tokens + 5),
        TokensPerSecond = tps,
        TimeToFirstTokenMs = ttftMs,
        DurationMs = tokens / tps * 1000,
    };

    private async Task LoopAsync(Func<TaskLease, int, object> answer)
    {
        var n = 0;
        while (!_stop.IsCancellationRequested)
        {
            IReadOnlyList<TaskLease> leases;
            try
            {
                leases = await Client.LeaseAsync(1, TimeSpan.FromSeconds(5), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            foreach (var lease in leases)
            {
                switch (answer(lease, n++))
                {
                    case CompleteTaskRequest done:
                        await Client.CompleteAsync(lease.TaskId, done with { LeaseId = lease.LeaseId }, _stop.Token);
                        break;
                    case FailTaskRequest failed:
                        await Client.FailAsync(lease.TaskId, failed with { LeaseId = lease.LeaseId }, _stop.Token);
                        break;
                }
            }
        }
    }

    /// <summary>Stops polling and deregisters, as a real worker that stops does, so no later test's placement counts on it.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _loop; } catch (OperationCanceledException) { /* stopping */ }
        _stop.Dispose();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Client.DeregisterAsync(deadline.Token);
        }
        catch (HttpRequestException)
        {
            // the test stopped its orchestrator first: nothing to deregister from
        }
    }
}
