using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Text.Json;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.OpenAi;
using Microsoft.Extensions.AI;
using OpenAI;

namespace D8.Tests.Emulators;

/// <summary>The OpenAI-compatible emulator driven by the real OpenAI SDK 2.15.0 through Microsoft.Extensions.AI.</summary>
[Trait("Category", "Unit")]
public sealed class OpenAiEmulatorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string Key = "test-key";
    private const string Model = "llama-3.1-8b-instant";

    private static Task<OpenAiEmulator> StartAsync(int tokens = 8, string name = "groq-emulator") =>
        OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = name, ApiKey = Key, TokensPerAnswer = tokens });

    private static IChatClient Chat(OpenAiEmulator emulator, string key = Key, string model = Model) =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = emulator.V1Endpoint,
            // The SDK retries 429/5xx by itself; the emulator tests (and D8) want the raw outcome.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        }).GetChatClient(model).AsIChatClient();

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task Streaming_yields_the_deterministic_answer_and_usage()
    {
        await using var groq = await StartAsync();
        var chat = Chat(groq);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync(Ask("stream me"))) updates.Add(update);

        Assert.Equal(EmulatorAnswer.Text("groq-emulator", "stream me", 8), string.Concat(updates.Select(u => u.Text)));
        Assert.Contains(updates, u => u.FinishReason == ChatFinishReason.Stop);
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(8, usage.Details.OutputTokenCount);
        Assert.Equal(2, usage.Details.InputTokenCount);
        Assert.Equal(10, usage.Details.TotalTokenCount);
        using var body = groq.Requests.Snapshot().Single().ParseBody();
        Assert.True(body.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("/v1/chat/completions", groq.Requests.Snapshot().Single().Path);
    }

    [Fact]
    public async Task Non_streaming_returns_the_answer_with_usage_and_finish_reason()
    {
        await using var groq = await StartAsync(tokens: 5);
        var chat = Chat(groq);

        var response = await chat.GetResponseAsync(Ask("once"));

        Assert.Equal(EmulatorAnswer.Text("groq-emulator", "once", 5), response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(5, response.Usage?.OutputTokenCount);
        Assert.Equal(Model, response.ModelId);
        Assert.StartsWith("chatcmpl-", response.ResponseId);
    }

    [Fact]
    public async Task MaxOutputTokens_is_sent_as_max_completion_tokens_and_ends_with_length()
    {
        await using var groq = await StartAsync(tokens: 20);
        var chat = Chat(groq);

        var response = await chat.GetResponseAsync(Ask("cap"), new ChatOptions { MaxOutputTokens = 4, Temperature = 0.2f });

        Assert.Equal(4, response.Text.Split(' ').Length);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        using var body = groq.Requests.Snapshot().Single().ParseBody();
        Assert.Equal(4, body.RootElement.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Json_object_response_format_yields_parseable_json()
    {
        await using var gemini = await StartAsync(name: "gemini-emulator");
        var chat = Chat(gemini, model: "gemini-2.5-flash");

        var response = await chat.GetResponseAsync(Ask("json"), new ChatOptions { ResponseFormat = ChatResponseFormat.Json });

        using var json = JsonDocument.Parse(response.Text);
        Assert.Equal("gemini-emulator", json.RootElement.GetProperty("emulator").GetString());
    }

    [Fact]
    public async Task Rate_limit_is_a_429_with_a_readable_retry_after_header_and_is_consumed_once()
    {
        await using var groq = await StartAsync();
        groq.Enqueue(Fault.RateLimited(retryAfterSeconds: 7));
        var chat = Chat(groq);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(Ask("too fast")));
        var next = await chat.GetResponseAsync(Ask("later"));

        Assert.Equal(429, error.Status);
        var raw = error.GetRawResponse()!;
        Assert.True(raw.Headers.TryGetValue("retry-after", out var retryAfter));
        Assert.Equal("7", retryAfter);
        Assert.True(raw.Headers.TryGetValue("x-ratelimit-reset-requests", out var reset));
        Assert.Equal("7s", reset);
        Assert.True(raw.Headers.TryGetValue("x-ratelimit-reset-tokens", out var resetTokens));
        Assert.Equal("1m0s", resetTokens);
        Assert.Contains("rate_limit_exceeded", error.Message);
        Assert.Equal(ChatFinishReason.Stop, next.FinishReason);
    }

    [Fact]
    public async Task Sticky_service_unavailable_fails_every_call_until_cleared()
    {
        await using var groq = await StartAsync();
        groq.SetStickyFault(Fault.ServiceUnavailable());
        var chat = Chat(groq);

        var first = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(Ask("a")));
        var second = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(Ask("b")));
        groq.SetStickyFault(null);
        var ok = await chat.GetResponseAsync(Ask("c"));

        Assert.Equal(503, first.Status);
        Assert.Equal(503, second.Status);
        Assert.Equal(ChatFinishReason.Stop, ok.FinishReason);
    }

    [Fact]
    public async Task Wrong_api_key_is_a_401_invalid_api_key()
    {
        await using var groq = await StartAsync();
        var chat = Chat(groq, key: "wrong");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(Ask("hi")));

        Assert.Equal(401, error.Status);
        Assert.Contains("invalid_api_key", error.Message);
        Assert.True(groq.Requests.Snapshot().Single().HasAuthorization);
    }

    [Fact]
    public async Task Unknown_model_is_a_404_model_not_found()
    {
        await using var groq = await StartAsync();
        var chat = Chat(groq, model: "gpt-99");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(Ask("hi")));

        Assert.Equal(404, error.Status);
        Assert.Contains("model_not_found", error.Message);
    }

    [Fact]
    public async Task Bad_body_is_a_400_in_openai_error_shape()
    {
        await using var groq = await OpenAiEmulator.StartAsync();
        using var http = new HttpClient();

        using var response = await http.PostAsync(groq.BaseUrl + "/openai/v1/chat/completions",
            new StringContent("""{"model":"llama-3.1-8b-instant","messages":[]}""", System.Text.Encoding.UTF8, "application/json"));
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("messages", error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Dropped_connection_mid_stream_throws_an_IOException_from_the_enumerator()
    {
        await using var groq = await StartAsync(tokens: 10);
        groq.Enqueue(Fault.DropMidStream(afterChunks: 3));
        var chat = Chat(groq);

        var received = new List<string>();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in chat.GetStreamingResponseAsync(Ask("drop"))) received.Add(update.Text);
        });

        Assert.True(error is IOException, $"unexpected {error}");
        Assert.Equal(EmulatorAnswer.Text("groq-emulator", "drop", 3), string.Concat(received));
    }

    [Fact]
    public async Task Error_event_mid_stream_is_swallowed_by_the_SDK_and_the_stream_ends_without_a_finish_reason()
    {
        await using var groq = await StartAsync(tokens: 10);
        groq.Enqueue(Fault.ErrorMidStream("upstream failed", afterChunks: 2));
        var chat = Chat(groq);

        var updates = new List<ChatResponseUpdate>();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in chat.GetStreamingResponseAsync(Ask("err"))) updates.Add(update);
        });

        // OpenAI SDK 2.15.0 skips an {"error":…} event: no exception, partial text, no finish reason.
        Assert.DoesNotContain(updates, u => u.FinishReason is not null);
        Assert.StartsWith(EmulatorAnswer.Text("groq-emulator", "err", 2), string.Concat(updates.Select(u => u.Text)));
        Assert.Null(error);
    }

    [Fact]
    public async Task Traceparent_is_recorded_when_an_activity_listener_is_attached()
    {
        await using var groq = await StartAsync();
        var chat = Chat(groq);
        using var source = new ActivitySource("D8.Tests.Emulators");
        // Only this test's own source: a listener on every source would sample other tests' activities too.
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        string traceId;
        using (var activity = source.StartActivity("call-provider"))
        {
            traceId = activity!.TraceId.ToHexString();
            await chat.GetResponseAsync(Ask("trace me"));
        }

        var recorded = await groq.WaitForRequestAsync(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal), Timeout);
        Assert.Equal(traceId, recorded.TraceId);
    }

    [Fact]
    public async Task Hang_holds_the_call_until_the_client_gives_up()
    {
        await using var groq = await StartAsync();
        groq.Enqueue(Fault.Hang());
        var chat = Chat(groq);
        using var cts = new CancellationTokenSource();

        var call = chat.GetResponseAsync(Ask("hang"), cancellationToken: cts.Token);
        await groq.WaitForRequestAsync("/chat/completions", Timeout);
        Assert.False(call.IsCompleted);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Fact]
    public async Task Models_are_listed_under_any_prefix()
    {
        await using var gemini = await OpenAiEmulator.StartAsync(new() { Models = ["gemini-2.5-flash"] });
        using var http = new HttpClient();

        using var doc = JsonDocument.Parse(await http.GetStringAsync(gemini.BaseUrl + "/v1beta/openai/models"));

        Assert.Equal("gemini-2.5-flash", doc.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
    }
}
