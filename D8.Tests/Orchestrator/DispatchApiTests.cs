using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>Long-poll wake-ups, exactly-once leasing under contention, idempotent submit, OpenAPI — over real HTTP.</summary>
[Trait("Category", "Unit")]
public class DispatchApiTests : StoreTests
{
    private InProcessOrchestrator _orch = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _orch = await InProcessOrchestrator.StartAsync(Store.Apply());
    }

    public override async Task DisposeAsync() => await _orch.DisposeAsync();

    private Task<WorkerClient> WorkerAsync(int concurrency = 4, string provider = "ollama") =>
        _orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest
        {
            Name = "w", Provider = provider, Models = ["m"], MaxConcurrency = concurrency,
        });

    [StoreFact]
    public async Task Long_poll_lease_wakes_as_soon_as_a_task_is_submitted()
    {
        var worker = await WorkerAsync();
        var client = _orch.CreateClient();
        var clock = Stopwatch.StartNew();
        var waiting = worker.LeaseAsync(1, TimeSpan.FromSeconds(30));
        // The engine says the poll is parked before anything is submitted.
        await WaitUntilAsync(() => Task.FromResult(_orch.Engine.Parked().LeasePolls == 1));
        Assert.False(waiting.IsCompleted);

        var submitted = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "wake up" });
        var lease = Assert.Single(await waiting.WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(submitted.Id, lease.TaskId);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"lease took {clock.Elapsed}; the 30 s wait should not have run out");
    }

    [StoreFact]
    public async Task Long_poll_lease_answers_204_when_the_wait_ends_with_nothing()
    {
        var worker = await WorkerAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/workers/{worker.Id}/leases?wait=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", worker.Token);
        request.Content = new StringContent("{\"max\":1}", Encoding.UTF8, "application/json");
        using var response = await _orch.CreateHttpClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [StoreFact]
    public async Task Get_with_wait_returns_as_soon_as_the_task_completes()
    {
        var worker = await WorkerAsync();
        var client = _orch.CreateClient();
        var id = (await client.SubmitAsync(new SubmitTaskRequest { Prompt = "x" })).Id;
        var lease = Assert.Single(await worker.LeaseAsync(1, TimeSpan.FromSeconds(10)));
        var clock = Stopwatch.StartNew();
        var waiting = client.GetTaskAsync(id, TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => Task.FromResult(_orch.Engine.Parked().TaskWaits == 1));
        Assert.False(waiting.IsCompleted);

        await worker.CompleteAsync(id, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "answer" });
        var view = await waiting.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(TaskState.Succeeded, view.State);
        Assert.Equal("answer", view.Result!.Content);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"get took {clock.Elapsed}");
    }

    [StoreFact]
    public async Task Racing_workers_lease_each_task_exactly_once()
    {
        const int tasks = 300;
        var client = _orch.CreateClient();
        var workers = new List<WorkerClient>();
        for (var i = 0; i < 8; i++) workers.Add(await WorkerAsync(concurrency: 1000));
        var seen = new ConcurrentBag<(string Task, string Worker)>();
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var remaining = tasks;

        // Workers start polling before and while tasks arrive: the handoff and queue paths both race.
        var racers = workers.SelectMany(w => Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (Volatile.Read(ref remaining) > 0 && !done.IsCancellationRequested)
            {
                foreach (var lease in await w.LeaseAsync(3, TimeSpan.FromSeconds(1), done.Token))
                {
                    seen.Add((lease.TaskId, w.Id));
                    Interlocked.Decrement(ref remaining);
                }
            }
        }))).ToArray();
        var submitted = await Task.WhenAll(Enumerable.Range(0, tasks).Select(i =>
            client.SubmitAsync(new SubmitTaskRequest { Prompt = $"t{i}" })));
        await Task.WhenAll(racers);

        var byTask = seen.GroupBy(s => s.Task).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(tasks, seen.Count);
        Assert.All(submitted, s => Assert.Equal(1, byTask.GetValueOrDefault(s.Id)));
        Assert.True(seen.Select(s => s.Worker).Distinct().Count() > 1, "several workers should have won some tasks");
        Assert.Equal(tasks, (await client.GetStatsAsync()).Tasks["leased"]);
    }

    [StoreFact]
    public async Task Idempotency_key_header_returns_the_first_task_as_a_duplicate()
    {
        var http = _orch.CreateHttpClient();
        async Task<(HttpStatusCode, SubmitTaskResponse)> SubmitAsync(string prompt)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/tasks");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _orch.ApiKey);
            request.Headers.Add("Idempotency-Key", "job-42");
            request.Content = new StringContent($"{{\"prompt\":\"{prompt}\"}}", Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(request);
            var body = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), D8JsonContext.Default.SubmitTaskResponse)!;
            return (response.StatusCode, body);
        }

        var (firstStatus, first) = await SubmitAsync("one");
        var (secondStatus, second) = await SubmitAsync("two");

        Assert.Equal(HttpStatusCode.Accepted, firstStatus);
        Assert.Equal(HttpStatusCode.OK, secondStatus);
        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal("one", (await _orch.CreateClient().GetTaskAsync(first.Id)).Messages.Single().Content);
    }

    [StoreFact]
    public async Task List_pages_through_tasks_newest_first_and_filters_by_state()
    {
        var client = _orch.CreateClient();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++) ids.Add((await client.SubmitAsync(new SubmitTaskRequest { Prompt = $"{i}" })).Id);
        await client.CancelAsync(ids[3]);

        var pages = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.ListTasksAsync(limit: 3, cursor: cursor);
            pages.AddRange(page.Items.Select(t => t.Id));
            cursor = page.NextCursor;
        } while (cursor is not null);

        Assert.Equal(Enumerable.Reverse(ids), pages);
        var queued = await client.ListTasksAsync(TaskState.Queued, limit: 100);
        Assert.Equal(6, queued.Items.Count);
        Assert.Equal([ids[3]], (await client.ListTasksAsync(TaskState.Cancelled)).Items.Select(t => t.Id));
    }

    [StoreFact]
    public async Task OpenApi_document_describes_the_api()
    {
        var json = await _orch.CreateHttpClient().GetStringAsync("openapi/v1.json");
        using var doc = JsonDocument.Parse(json);
        var paths = doc.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/tasks", "/api/tasks/{id}", "/api/workers", "/api/workers/{id}/leases",
                     "/api/workers/{id}/heartbeat", "/api/tasks/{id}/complete", "/api/tasks/{id}/fail", "/api/stats" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        }
        Assert.Contains("max_tokens", json); // schemas use the wire (snake_case) names
    }

    [StoreFact]
    public async Task Submitters_trace_context_reaches_the_worker_with_the_lease()
    {
        var worker = await WorkerAsync();
        var http = _orch.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/tasks");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _orch.ApiKey);
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        // The submitting client is inside a trace; HttpClient propagates it as traceparent/tracestate.
        using var clientSpan = new Activity("client-submit").SetParentId($"00-{traceId}-00f067aa0ba902b7-01");
        clientSpan.TraceStateString = "d8=test";
        clientSpan.Start();
        request.Content = new StringContent("{\"prompt\":\"traced\"}", Encoding.UTF8, "application/json");
        (await http.SendAsync(request)).EnsureSuccessStatusCode();
        clientSpan.Stop();

        var lease = Assert.Single(await worker.LeaseAsync(1, TimeSpan.FromSeconds(10)));
        Assert.NotNull(lease.TraceParent);
        Assert.True(lease.TraceParent!.Contains(traceId), $"traceparent {lease.TraceParent} / {lease.TraceState}"); // same trace, continued by the worker
        Assert.Equal("d8=test", lease.TraceState);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(20);
        }
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresDispatchApiTests : DispatchApiTests, IPostgresStoreTests;
