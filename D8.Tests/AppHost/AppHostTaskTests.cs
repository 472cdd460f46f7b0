using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting.Testing;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.AppHost;

/// <summary>Tasks through the system the AppHost started: orchestrator, three real workers, emulated providers.</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostTaskTests(AppHostFixture fixture)
{
    private static readonly (string Provider, string Worker)[] Routes =
        [("ollama", "worker-deepseek"), ("groq", "worker-groq"), ("gemini", "worker-gemini")];

    [Fact]
    public async Task Fifty_tasks_across_providers_complete_each_attributed_to_its_worker()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var client = Client();
        var submitted = new List<(string Id, string Provider, string Worker)>();
        for (var i = 0; i < 50; i++)
        {
            var (provider, worker) = Routes[i % Routes.Length];
            var response = await client.SubmitAsync(new SubmitTaskRequest { Prompt = $"task {i}", Provider = provider }, cts.Token);
            submitted.Add((response.Id, provider, worker));
        }

        foreach (var (id, provider, worker) in submitted)
        {
            var task = await client.WaitUntilFinishedAsync(id, TimeSpan.FromMinutes(2), cts.Token);
            Assert.True(task.State == TaskState.Succeeded, $"task {id} for {provider} ended {task.State}: {task.Reason}");
            Assert.Equal(provider, task.Result!.Provider);
            Assert.Equal(worker, task.Result.WorkerName);
        }
    }

    [Fact]
    public async Task Provider_call_continues_the_trace_of_the_submitting_request()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var client = Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks")
        {
            Content = JsonContent.Create(new SubmitTaskRequest { Prompt = "traced", Provider = "groq" }, D8JsonContext.Default.SubmitTaskRequest),
        };
        request.Headers.Authorization = new("Bearer", AppHostFixture.ApiKey);
        // The submitting request runs in a trace of ours: the test's HttpClient propagates the current activity.
        // (A hand-written traceparent header is not enough: when another test in this process listens to
        // System.Net.Http, the client adds its own traceparent beside it and the orchestrator reads that one.)
        using var submit = new Activity("test.submit");
        submit.SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        submit.Start();
        var traceId = submit.TraceId.ToHexString();
        using (var response = await client.Http.SendAsync(request, cts.Token))
        {
            response.EnsureSuccessStatusCode();
        }
        submit.Stop();

        var call = await fixture.Groq.WaitForRequestAsync(r => r.TraceId == traceId, TimeSpan.FromSeconds(90), cts.Token);
        Assert.Equal(traceId, call.TraceId);
    }

    private OrchestratorClient Client()
    {
        var http = fixture.App.CreateHttpClient("orchestrator", "http");
        return new OrchestratorClient(http) { ApiKey = AppHostFixture.ApiKey };
    }
}
