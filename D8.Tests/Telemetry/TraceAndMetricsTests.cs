using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using D8.Contracts;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;

namespace D8.Tests.Telemetry;

/// <summary>
/// What the dashboard and Prometheus receive from a real orchestrator and worker: an idle fleet records no traces,
/// one task is one trace (submit → lease → run → gen_ai provider call → complete), and /metrics serves the D8 series.
/// </summary>
public sealed class TraceAndMetricsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Idle_fleet_records_no_trace_and_a_task_is_one_trace_from_submit_to_complete()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var provider = await OpenAiEmulator.StartAsync(cancellationToken: cts.Token);
        await using var host = await TelemetryHost.StartAsync(provider.V1Endpoint, cts.Token);

        // Idle: registration, provider probes, lease long-polls and five heartbeats, none of which may make a trace.
        await host.WaitForHeartbeatsAsync(5, cts.Token);
        host.Flush();
        Assert.Empty(host.Spans.Select(s => s.TraceId).Distinct());

        var traceId = ActivityTraceId.CreateRandom();
        var task = await SubmitAsync(host, traceId, cts.Token);
        using var orchestratorHttp = new HttpClient { BaseAddress = host.OrchestratorUrl, Timeout = TimeSpan.FromSeconds(60) };
        var client = new OrchestratorClient(orchestratorHttp) { ApiKey = host.ApiKey };
        var view = await client.WaitUntilFinishedAsync(task, Timeout, cts.Token);
        Assert.Equal(TaskState.Succeeded, view.State);
        await host.WaitForHeartbeatsAsync(8, cts.Token);
        host.Flush();

        var spans = host.Spans;
        Assert.Equal([traceId], spans.Select(s => s.TraceId).Distinct());
        var names = spans.Select(s => s.OperationName).ToHashSet();
        Assert.Contains("d8.task.submit", names);
        Assert.Contains("d8.task.lease", names);
        Assert.Contains("d8.worker.run", names);
        Assert.Contains("d8.task.complete", names);
        var chat = Assert.Single(spans.Where(s => s.GetTagItem("gen_ai.request.model") is not null && s.Source.Name == D8.Worker.Providers.ChatProvider.GenAiSourceName)
            .DistinctBy(s => s.SpanId));
        Assert.NotNull(chat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.DoesNotContain(spans, s => s.DisplayName.Contains("heartbeat", StringComparison.OrdinalIgnoreCase)
                                          || (s.GetTagItem("url.path") as string)?.EndsWith("/leases", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Prometheus_endpoints_serve_the_D8_series_and_the_orchestrators_asks_for_the_api_key()
    {
        using var cts = new CancellationTokenSource(Timeout);
        // Tokens arrive over time, so the run has a measurable tokens/s.
        await using var provider = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { TokenDelay = TimeSpan.FromMilliseconds(10) }, cts.Token);
        await using var host = await TelemetryHost.StartAsync(provider.V1Endpoint, cts.Token);
        var task = await SubmitAsync(host, ActivityTraceId.CreateRandom(), cts.Token);
        using var orchestratorHttp = new HttpClient { BaseAddress = host.OrchestratorUrl, Timeout = TimeSpan.FromSeconds(60) };
        var client = new OrchestratorClient(orchestratorHttp) { ApiKey = host.ApiKey };
        var view = await client.WaitUntilFinishedAsync(task, Timeout, cts.Token);
        // The worker reports tokens/s to the orchestrator in its next heartbeat.
        await host.WaitForHeartbeatsAsync(3, cts.Token);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var anonymous = await http.GetAsync(new Uri(host.OrchestratorUrl, "/metrics"), cts.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.OrchestratorUrl, "/metrics"));
        request.Headers.Authorization = new("Bearer", host.ApiKey);
        using var scrape = await http.SendAsync(request, cts.Token);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        var orchestrator = await scrape.Content.ReadAsStringAsync(cts.Token);
        foreach (var series in new[]
                 {
                     "d8_tasks_queue_depth{", "state=\"succeeded\"", "d8_dispatch_latency_milliseconds_bucket", "d8_task_duration_milliseconds_bucket",
                     "d8_task_attempts_bucket", "d8_tokens_reported_total", "d8_fleet_tokens_per_second{", "worker=\"telemetry-worker\"",
                     "d8_fleet_in_flight{", "d8_fleet_cooldown_seconds{", "d8_fleet_workers{",
                 })
        {
            Assert.Contains(series, orchestrator, StringComparison.Ordinal);
        }

        var worker = await http.GetStringAsync(new Uri(host.WorkerUrl, "/metrics"), cts.Token);
        foreach (var series in new[] { "d8_worker_budget_used{", "window=\"requests_per_minute\"", "d8_worker_budget_limit{", "d8_worker_tokens_per_second_bucket" })
        {
            Assert.Contains(series, worker, StringComparison.Ordinal);
        }
    }

    /// <summary>Submits as a traced client would: with a sampled traceparent, and no HTTP span of the test's own.</summary>
    private static async Task<string> SubmitAsync(TelemetryHost host, ActivityTraceId traceId, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = host.OrchestratorUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks")
        {
            Content = JsonContent.Create(new SubmitTaskRequest { Prompt = "traced", Provider = "groq" }, D8JsonContext.Default.SubmitTaskRequest),
        };
        request.Headers.Authorization = new("Bearer", host.ApiKey);
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        var submitted = await response.Content.ReadFromJsonAsync(D8JsonContext.Default.SubmitTaskResponse, ct);
        return submitted!.Id;
    }
}
