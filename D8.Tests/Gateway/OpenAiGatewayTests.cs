using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using D8.Contracts;
using D8.Emulators.Hosting;
using OpenAI.Chat;

namespace D8.Tests.Gateway;

/// <summary>
/// The official OpenAI .NET SDK against /v1 of a real orchestrator process with real worker processes on emulators:
/// models, chat on a cloud and an Ollama worker, json mode, streaming, and OpenAI's error shapes.
/// </summary>
[Collection(GatewayFleet.Collection)]
public sealed class OpenAiGatewayTests(GatewayFleet fleet)
{
    [Fact]
    public async Task Models_lists_every_served_model_by_exact_id_and_provider_pinned()
    {
        var models = fleet.Client().GetOpenAIModelClient();

        var list = (await models.GetModelsAsync()).Value;
        var ids = list.Select(m => m.Id).ToList();
        Assert.Contains(GatewayFleet.GroqModel, ids);
        Assert.Contains("groq/" + GatewayFleet.GroqModel, ids);
        Assert.Contains(GatewayFleet.OllamaModel, ids);
        Assert.Contains("ollama/" + GatewayFleet.OllamaModel, ids);
        Assert.Equal("groq", list.Single(m => m.Id == GatewayFleet.GroqModel).OwnedBy);

        var one = (await models.GetModelAsync("groq/" + GatewayFleet.GroqModel)).Value;
        Assert.Equal("groq", one.OwnedBy);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("no-such-model"));
        Assert.Equal(404, missing.Status);
        Assert.Contains("model_not_found", missing.Message);
    }

    [Fact]
    public async Task Chat_on_a_cloud_worker_answers_a_completion_with_usage_and_the_task_and_worker_headers()
    {
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; OpenAI's API has it.
        var result = await fleet.Chat("groq/" + GatewayFleet.GroqModel).CompleteChatAsync(
            [new SystemChatMessage("be brief"), new UserChatMessage("hello groq")],
            new ChatCompletionOptions { Temperature = 0.2f, TopP = 0.9f, MaxOutputTokenCount = 50, Seed = 7, StopSequences = { "zzz" } });
#pragma warning restore OPENAI001

        var completion = result.Value;
        // The emulator echoes the system prompt into its answer: proof that it reached the provider.
        Assert.StartsWith("groq-emulator", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Contains("be brief", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(GatewayFleet.GroqModel, completion.Model);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(GatewayFleet.GroqTokens, completion.Usage.OutputTokenCount);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-d8-task-id", out var taskId));
        Assert.True(headers.TryGetValue("x-d8-worker", out var worker));
        Assert.Equal("groq-1", worker);
        Assert.Equal("chatcmpl-" + taskId, completion.Id);
        // The call is an ordinary durable task, with the parameters passed on.
        var task = await fleet.Fleet.Client.GetTaskAsync(taskId!);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal((50, 0.9, 7L), (task.MaxTokens, Math.Round(task.TopP!.Value, 3), task.Seed!.Value));
        Assert.Equal(["zzz"], task.Stop!);
    }

    [Fact]
    public async Task Chat_on_an_ollama_worker_by_its_exact_model_id()
    {
        var completion = (await fleet.Chat(GatewayFleet.OllamaModel).CompleteChatAsync([new UserChatMessage("hello pi")])).Value;

        Assert.Equal(EmulatorAnswer.Text("pi-ollama", "hello pi", GatewayFleet.OllamaTokens), completion.Content[0].Text);
        Assert.Equal(GatewayFleet.OllamaModel, completion.Model);
        Assert.Equal(GatewayFleet.OllamaTokens, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Json_mode_reaches_the_provider_and_the_answer_is_json()
    {
        var completion = (await fleet.Chat(GatewayFleet.GroqModel).CompleteChatAsync([new UserChatMessage("as json")],
            new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() })).Value;

        using var json = JsonDocument.Parse(completion.Content[0].Text);
        Assert.Equal("groq-emulator", json.RootElement.GetProperty("emulator").GetString());
    }

    [Fact]
    public async Task Streaming_sends_the_content_in_chunks_then_usage_then_done()
    {
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in fleet.Chat(GatewayFleet.OllamaModel).CompleteChatStreamingAsync([new UserChatMessage("stream pi")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal(EmulatorAnswer.Text("pi-ollama", "stream pi", GatewayFleet.OllamaTokens), text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(GatewayFleet.OllamaTokens, usage?.OutputTokenCount);

        // On the wire: role chunk first, [DONE] last.
        using var http = fleet.Http();
        var body = await (await http.PostAsync("chat/completions", Json($$"""{"model":"{{GatewayFleet.GroqModel}}","stream":true,"messages":[{"role":"user","content":"raw"}]}"""))).Content.ReadAsStringAsync();
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("\"role\":\"assistant\"", events[0]);
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.DoesNotContain(events, e => e.Contains("\"usage\"", StringComparison.Ordinal)); // not asked for
    }

    [Fact]
    public async Task Unknown_model_answers_404_at_once_naming_the_models_that_exist()
    {
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            fleet.Chat("no-such-model").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(404, error.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"404 took {clock.Elapsed}");
        var body = await ErrorOf(await fleet.Http().PostAsync("chat/completions",
            Json("""{"model":"groq/no-such-model","messages":[{"role":"user","content":"hi"}]}""")));
        Assert.Equal(("invalid_request_error", "model_not_found", "model"), (body.Type, body.Code, body.Param));
        Assert.Contains(GatewayFleet.GroqModel, body.Message);
        Assert.Contains(GatewayFleet.OllamaModel, body.Message);
    }

    [Fact]
    public async Task Wrong_key_answers_401_invalid_api_key_in_OpenAI_shape()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            fleet.Chat(GatewayFleet.GroqModel, apiKey: "wrong-key").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, error.Status);

        using var http = fleet.Http("wrong-key");
        var response = await http.GetAsync("models");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await ErrorOf(response);
        Assert.Equal(("invalid_request_error", "invalid_api_key"), (body.Type, body.Code));
    }

    [Theory]
    [InlineData("\"n\":2", "n")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools")]
    [InlineData("\"logprobs\":true", "logprobs")]
    [InlineData("\"audio\":{\"voice\":\"alloy\",\"format\":\"mp3\"}", "audio")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\"}}", "response_format")]
    [InlineData("\"frequency_penalty\":0.5", "frequency_penalty")]
    [InlineData("\"no_such_parameter\":1", "no_such_parameter")]
    public async Task Each_unsupported_parameter_answers_400_naming_it(string field, string param)
    {
        var response = await fleet.Http().PostAsync("chat/completions",
            Json($$"""{"model":"{{GatewayFleet.GroqModel}}","messages":[{"role":"user","content":"hi"}],{{field}}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await ErrorOf(response);
        Assert.Equal(("invalid_request_error", param), (body.Type, body.Param));
        Assert.Contains(param, body.Message);
    }

    [Fact]
    public async Task Image_content_and_tools_through_the_SDK_are_refused_with_400()
    {
        var image = ChatMessageContentPart.CreateImagePart(new Uri("https://example.invalid/cat.png"));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => fleet.Chat(GatewayFleet.GroqModel)
            .CompleteChatAsync([new UserChatMessage(ChatMessageContentPart.CreateTextPart("what is it"), image)]));
        Assert.Equal(400, error.Status);
        Assert.Contains("messages[0].content[1]", error.Message);

        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("lookup", "looks up") } };
        error = await Assert.ThrowsAsync<ClientResultException>(() => fleet.Chat(GatewayFleet.GroqModel)
            .CompleteChatAsync([new UserChatMessage("hi")], options));
        Assert.Equal(400, error.Status);
        Assert.Contains("tools", error.Message);
    }

    [Fact]
    public async Task Idempotency_key_rejoins_one_task_and_priority_comes_from_the_header_or_metadata()
    {
        using var http = fleet.Http();
        async Task<string> CallAsync(string body, params (string Name, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "chat/completions") { Content = Json(body) };
            foreach (var (name, value) in headers) request.Headers.Add(name, value);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.GetValues("x-d8-task-id").Single();
        }
        var body = $$"""{"model":"{{GatewayFleet.GroqModel}}","messages":[{"role":"user","content":"once"}]}""";
        var key = Guid.NewGuid().ToString("N");

        var first = await CallAsync(body, ("Idempotency-Key", key), ("x-d8-priority", "9"));
        var again = await CallAsync(body, ("Idempotency-Key", key));
        var viaMetadata = await CallAsync($$$"""{"model":"{{{GatewayFleet.GroqModel}}}","messages":[{"role":"user","content":"m"}],"metadata":{"d8_priority":"2"}}""");

        Assert.Equal(first, again);
        Assert.Equal(9, (await fleet.Fleet.Client.GetTaskAsync(first)).Priority);
        Assert.Equal(2, (await fleet.Fleet.Client.GetTaskAsync(viaMetadata)).Priority);
    }

    [Fact]
    public async Task Metrics_carry_the_gateway_series()
    {
        await foreach (var _ in fleet.Chat(GatewayFleet.GroqModel).CompleteChatStreamingAsync([new UserChatMessage("metered")])) { }

        using var http = new HttpClient { BaseAddress = fleet.Fleet.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", fleet.Fleet.ApiKey);
        var metrics = await http.GetStringAsync("metrics");

        Assert.Contains("d8_gateway_calls_total{", metrics);
        Assert.Contains("outcome=\"ok\"", metrics);
        Assert.Contains("d8_gateway_wait_milliseconds_bucket", metrics);
        Assert.Contains("d8_gateway_time_to_first_token_milliseconds_bucket", metrics);
        Assert.Contains("d8_gateway_calls_in_flight", metrics);
        Assert.Contains("d8_gateway_calls_queued", metrics);
    }

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal sealed record ErrorFields(string Message, string Type, string? Param, string? Code);

    /// <summary>Reads OpenAI's error shape strictly: exactly the four fields under "error".</summary>
    internal static async Task<ErrorFields> ErrorOf(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(["message", "type", "param", "code"], error.EnumerateObject().Select(p => p.Name));
        static string? S(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetString();
        return new ErrorFields(error.GetProperty("message").GetString()!, error.GetProperty("type").GetString()!,
            S(error.GetProperty("param")), S(error.GetProperty("code")));
    }
}
