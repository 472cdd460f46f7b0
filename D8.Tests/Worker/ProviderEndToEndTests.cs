using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>submit → orchestrator process → worker process → real provider client → emulator → result, per provider.</summary>
public sealed class ProviderEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Ollama_worker_runs_a_task_with_eval_counts_and_tokens_per_second()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi-ollama", TokensPerAnswer = 9 });
        await using var fleet = await WorkerFleet.StartAsync(output);
        fleet.StartWorker("pi-1", "ollama", ollama.BaseUrl, new Dictionary<string, string?> { ["D8_OLLAMA_KEEP_ALIVE"] = "7m" });
        var worker = await fleet.WaitForWorkerAsync("pi-1");

        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "write hello", MaxTokens = 50, JsonMode = false });
        var task = await fleet.WaitForTerminalAsync(submitted.Id);

        Assert.Equal(TaskState.Succeeded, task.State);
        var result = task.Result!;
        Assert.Equal(EmulatorAnswer.Text("pi-ollama", "write hello", 9), result.Content);
        Assert.Equal(worker.Id, result.WorkerId);
        Assert.Equal("pi-1", result.WorkerName);
        Assert.Equal("ollama", result.Provider);
        Assert.Equal("deepseek-coder:1.3b", result.Model);
        Assert.Equal(9, result.Usage?.CompletionTokens);
        Assert.Equal(2, result.Usage?.PromptTokens);
        Assert.True(result.TokensPerSecond > 0, "tokens/s from eval_count / eval_duration");
        Assert.NotNull(result.TimeToFirstTokenMs);
        var chat = Assert.Single(ollama.Requests.Snapshot(), r => r.Path == "/api/chat");
        using var body = chat.ParseBody();
        Assert.Equal(50, body.RootElement.GetProperty("options").GetProperty("num_predict").GetInt32());
        Assert.Equal("7m", body.RootElement.GetProperty("keep_alive").GetString());
        Assert.NotNull(chat.TraceParent);
    }

    [Theory]
    [InlineData("groq", "/openai/v1", "llama-3.1-8b-instant")]
    [InlineData("gemini", "/v1beta/openai/", "gemini-2.5-flash")]
    [InlineData("openai", "/v1", "gpt-4o-mini")]
    public async Task OpenAI_compatible_worker_runs_a_task_with_usage_from_the_final_chunk(string provider, string basePath, string model)
    {
        await using var emulator = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = provider + "-emulator",
            ApiKey = WorkerFleet.EmulatorKey,
            TokensPerAnswer = 7,
        });
        await using var fleet = await WorkerFleet.StartAsync(output);
        var env = new Dictionary<string, string?>();
        if (provider == "openai") env["D8_MODEL"] = model;
        fleet.StartWorker(provider + "-1", provider, emulator.BaseUrl + basePath, env);
        var worker = await fleet.WaitForWorkerAsync(provider + "-1");

        // Submitted inside a trace of the test's own: the provider call must carry the same trace id.
        var traceId = ActivityTraceId.CreateRandom();
        var submitted = await SubmitInTraceAsync(fleet, new SubmitTaskRequest { Prompt = "hi " + provider, Provider = provider }, traceId);
        var task = await fleet.WaitForTerminalAsync(submitted.Id);

        Assert.Equal(TaskState.Succeeded, task.State);
        var result = task.Result!;
        Assert.Equal(EmulatorAnswer.Text(provider + "-emulator", "hi " + provider, 7), result.Content);
        Assert.Equal(worker.Id, result.WorkerId);
        Assert.Equal(provider, result.Provider);
        Assert.Equal(model, result.Model);
        Assert.Equal(new TokenUsage(2, 7, 9), result.Usage);
        Assert.True(result.TokensPerSecond > 0);
        var call = Assert.Single(emulator.Requests.Snapshot(), r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        Assert.StartsWith(basePath.TrimEnd('/'), call.Path, StringComparison.Ordinal);
        Assert.Equal(model, call.Model);
        // The run continues the submitting request's trace: the provider call carries its trace id.
        Assert.NotNull(call.TraceParent);
        Assert.Equal(traceId.ToHexString(), call.TraceParent.Split('-')[1]);
    }

    private static async Task<SubmitTaskResponse> SubmitInTraceAsync(WorkerFleet fleet, SubmitTaskRequest submit, ActivityTraceId traceId)
    {
        // No propagator: when another test's ActivityListener is active in this process, HttpClient would otherwise
        // start its own activity and overwrite the traceparent header set below with a fresh trace id.
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = fleet.BaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/tasks")
        {
            Content = JsonContent.Create(submit, D8JsonContext.Default.SubmitTaskRequest),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fleet.ApiKey);
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(D8JsonContext.Default.SubmitTaskResponse))!;
    }
}
