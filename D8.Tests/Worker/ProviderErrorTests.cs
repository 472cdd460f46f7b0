using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using D8.Worker.Providers;
using Microsoft.Extensions.Logging.Abstractions;

namespace D8.Tests.Worker;

/// <summary>The worker's runner and error classification against the emulators through the real clients.</summary>
public sealed class ProviderErrorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static WorkerOptions Options(ProviderInfo kind, Uri url, string model, string? key = WorkerFleet.EmulatorKey) => new()
    {
        OrchestratorUrl = new Uri("http://127.0.0.1:9/"),
        JoinToken = "j",
        WorkerName = "unit",
        Provider = kind,
        Models = [model],
        ProviderUrl = url,
        ApiKey = key,
        Concurrency = 1,
        ShutdownGrace = TimeSpan.FromSeconds(1),
        RequestsPerMinute = 0,
        TokensPerMinute = 0,
        RequestsPerDay = 0,
        OllamaKeepAlive = "5m",
        PullModel = true,
        RequestTimeout = TimeSpan.FromSeconds(30),
    };

    private static TaskLease Lease(string prompt, string? model = null) => new()
    {
        TaskId = "t1", LeaseId = "l1", ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1), Attempt = 1, Kind = "chat",
        Messages = [new ChatMessage("user", prompt)], Model = model,
    };

    private static async Task<ProviderFailure> FailureOfAsync(ChatProvider provider, WorkerOptions options, TaskLease lease)
    {
        var runner = new TaskRunner(provider, options, TimeProvider.System);
        var error = await Record.ExceptionAsync(() => runner.RunAsync(lease, CancellationToken.None).WaitAsync(Timeout));
        Assert.NotNull(error);
        return ErrorClassifier.Classify(error, DateTimeOffset.UtcNow);
    }

    private static async Task<(OpenAiEmulator, WorkerOptions, ChatProvider)> GroqAsync(string? key = WorkerFleet.EmulatorKey)
    {
        var emulator = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-unit", ApiKey = WorkerFleet.EmulatorKey });
        var options = Options(ProviderCatalog.Groq, new Uri(emulator.BaseUrl + "/openai/v1"), "llama-3.1-8b-instant", key);
        return (emulator, options, ProviderFactory.Create(options, NullLoggerFactory.Instance));
    }

    [Fact]
    public async Task Status_429_is_rate_limited_with_the_providers_retry_after()
    {
        var (emulator, options, provider) = await GroqAsync();
        await using var _ = emulator;
        using var __ = provider;
        emulator.Enqueue(Fault.RateLimited(retryAfterSeconds: 17));

        var failure = await FailureOfAsync(provider, options, Lease("x"));

        Assert.Equal(FailureClass.RateLimited, failure.Class);
        Assert.Equal(429, failure.Status);
        Assert.Equal(TimeSpan.FromSeconds(17), failure.RetryAfter);
        Assert.Single(emulator.Requests.Snapshot(), r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_503_is_rate_limited_and_500_is_transient()
    {
        var (emulator, options, provider) = await GroqAsync();
        await using var _ = emulator;
        using var __ = provider;
        emulator.Enqueue(Fault.ServiceUnavailable());
        emulator.Enqueue(Fault.ServerError());

        var unavailable = await FailureOfAsync(provider, options, Lease("a"));
        var broken = await FailureOfAsync(provider, options, Lease("b"));

        Assert.Equal(FailureClass.RateLimited, unavailable.Class);
        Assert.Equal(FailureClass.Transient, broken.Class);
        Assert.Equal(500, broken.Status);
    }

    [Fact]
    public async Task Unknown_model_is_permanent_and_wrong_key_is_unauthorized()
    {
        var (emulator, options, provider) = await GroqAsync(key: "wrong-key");
        await using var _ = emulator;
        using var __ = provider;
        var (emulator2, options2, provider2) = await GroqAsync();
        await using var ___ = emulator2;
        using var ____ = provider2;

        var badKey = await FailureOfAsync(provider, options, Lease("k"));
        var badModel = await FailureOfAsync(provider2, options2, Lease("m", model: "no-such-model"));
        var probe = await Record.ExceptionAsync(() => provider.ProbeAsync(CancellationToken.None));

        Assert.Equal(FailureClass.Unauthorized, badKey.Class);
        Assert.Equal(FailureClass.Permanent, badModel.Class);
        Assert.Equal(404, badModel.Status);
        Assert.Equal(FailureClass.Unauthorized, ErrorClassifier.Classify(probe!, DateTimeOffset.UtcNow).Class);
    }

    [Fact]
    public async Task Connection_dropped_mid_stream_is_transient()
    {
        var (emulator, options, provider) = await GroqAsync();
        await using var _ = emulator;
        using var __ = provider;
        emulator.Enqueue(Fault.DropMidStream(afterChunks: 2));

        var failure = await FailureOfAsync(provider, options, Lease("drop"));

        Assert.Equal(FailureClass.Transient, failure.Class);
    }

    [Fact]
    public async Task OpenAI_error_event_mid_stream_is_a_transient_failure_not_a_short_answer()
    {
        var (emulator, options, provider) = await GroqAsync();
        await using var _ = emulator;
        using var __ = provider;
        emulator.Enqueue(Fault.ErrorMidStream("upstream failed", afterChunks: 2));

        var failure = await FailureOfAsync(provider, options, Lease("cut"));

        Assert.Equal(FailureClass.Transient, failure.Class);
        Assert.Contains("finish_reason", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ollama_error_line_mid_stream_is_a_transient_failure_not_a_short_answer()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions { TokensPerAnswer = 10 });
        ollama.Enqueue(Fault.ErrorMidStream("model runner crashed", afterChunks: 3));
        var options = Options(ProviderCatalog.Ollama, ollama.BaseUri, "deepseek-coder:1.3b", key: null);
        using var provider = ProviderFactory.Create(options, NullLoggerFactory.Instance);

        var failure = await FailureOfAsync(provider, options, Lease("crash"));

        Assert.Equal(FailureClass.Transient, failure.Class);
        Assert.Contains("done", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ollama_missing_model_in_a_task_is_permanent_and_json_mode_sends_format_json()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions { Name = "pi", TokensPerAnswer = 4 });
        var options = Options(ProviderCatalog.Ollama, ollama.BaseUri, "deepseek-coder:1.3b", key: null);
        using var provider = ProviderFactory.Create(options, NullLoggerFactory.Instance);
        var runner = new TaskRunner(provider, options, TimeProvider.System);

        var missing = await FailureOfAsync(provider, options, Lease("m", model: "absent:7b"));
        var json = await runner.RunAsync(Lease("as json") with { JsonMode = true }, CancellationToken.None);

        Assert.Equal(FailureClass.Permanent, missing.Class);
        Assert.Equal(EmulatorAnswer.Json("pi", "as json", 4), json.Content);
        using var body = ollama.Requests.Snapshot().Last(r => r.Path == "/api/chat").ParseBody();
        Assert.Equal("json", body.RootElement.GetProperty("format").GetString());
    }

    [Theory]
    [InlineData("59.93s", 59930)]
    [InlineData("1m0s", 60000)]
    [InlineData("2h3m4.5s", 7384500)]
    [InlineData("120ms", 120)]
    public void Go_durations_from_ratelimit_reset_headers_parse(string text, double milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), RetryAfterParser.ParseGoDuration(text));
    }

    [Fact]
    public void Retry_after_wins_over_reset_headers_and_the_later_reset_is_used_without_it()
    {
        var now = DateTimeOffset.UtcNow;
        var both = new Dictionary<string, string> { ["retry-after"] = "3", ["x-ratelimit-reset-tokens"] = "7.5s" };
        var resets = new Dictionary<string, string> { ["x-ratelimit-reset-requests"] = "1m0s", ["x-ratelimit-reset-tokens"] = "7.5s" };

        Assert.Equal(TimeSpan.FromSeconds(3), RetryAfterParser.FromHeaders(h => both.GetValueOrDefault(h), now));
        Assert.Equal(TimeSpan.FromMinutes(1), RetryAfterParser.FromHeaders(h => resets.GetValueOrDefault(h), now));
        Assert.Null(RetryAfterParser.FromHeaders(_ => null, now));
        Assert.Null(RetryAfterParser.ParseGoDuration("soon"));
    }

    [Fact]
    public void Aggregate_and_network_exceptions_are_transient()
    {
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(FailureClass.Transient, ErrorClassifier.Classify(new AggregateException(new IOException("reset")), now).Class);
        Assert.Equal(FailureClass.Transient, ErrorClassifier.Classify(new HttpRequestException("refused"), now).Class);
        Assert.Equal(FailureClass.Transient, ErrorClassifier.Classify(new HttpIOException(HttpRequestError.ResponseEnded), now).Class);
        Assert.Equal(FailureClass.Permanent, ErrorClassifier.Classify(new HttpRequestException("bad", null, System.Net.HttpStatusCode.BadRequest), now).Class);
    }
}
