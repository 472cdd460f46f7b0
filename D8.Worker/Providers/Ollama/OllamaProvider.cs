using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OllamaSharp.Models.Chat;

namespace D8.Worker.Providers.Ollama;

/// <summary>Ollama through OllamaSharp: model check and pull at start-up, num_predict, format json, keep_alive, eval counts.</summary>
public sealed partial class OllamaProvider : ChatProvider
{
    private readonly WorkerOptions _options;
    private readonly ILogger<OllamaProvider> _log;
    private readonly HttpClient _http;
    private readonly OllamaApiClient _client;
    private readonly IChatClient _chat;

    /// <param name="http">From IHttpClientFactory in the host; tests and tools may pass none.</param>
    public OllamaProvider(WorkerOptions options, ILoggerFactory loggers, HttpClient? http = null)
    {
        _options = options;
        _log = loggers.CreateLogger<OllamaProvider>();
        // No HttpClient timeout: long generations on a Pi are bounded by the per-call token instead.
        _http = http ?? new HttpClient { BaseAddress = options.ProviderUrl, Timeout = Timeout.InfiniteTimeSpan };
        _client = new OllamaApiClient(_http, options.DefaultModel);
        _chat = ((IChatClient)_client).AsBuilder().UseOpenTelemetry(loggers, GenAiSourceName).Build();
    }

    /// <inheritdoc />
    public override IChatClient ChatFor(string model) => _chat;

    /// <inheritdoc />
    public override ChatOptions CreateOptions(TaskLease lease, string model)
    {
        // OllamaSharp maps MaxOutputTokens to options.num_predict and Json to format: "json".
        var options = base.CreateOptions(lease, model);
        options.AdditionalProperties = new() { ["keep_alive"] = _options.OllamaKeepAlive };
        return options;
    }

    /// <inheritdoc />
    public override void Observe(ChatResponseUpdate update, RunMeter meter)
    {
        if (update.RawRepresentation is ChatDoneResponseStream { Done: true } done)
        {
            meter.SawDone = true;
            meter.PromptTokens = done.PromptEvalCount;
            meter.CompletionTokens = done.EvalCount;
            if (done.EvalDuration > 0) meter.ProviderEvalDuration = TimeSpan.FromTicks(done.EvalDuration / 100);
            if (done.DoneReason is { Length: > 0 } reason) meter.FinishReason = reason;
        }
    }

    /// <inheritdoc />
    public override void EnsureComplete(RunMeter meter)
    {
        // OllamaSharp swallows a mid-stream {"error":…} line and just ends the stream: without done it is a failure.
        if (!meter.SawDone) throw new IncompleteStreamException("Ollama's stream ended without done: true (the model runner reported an error).");
    }

    /// <inheritdoc />
    public override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        foreach (var model in _options.Models)
        {
            if (await HasModelAsync(model, cancellationToken).ConfigureAwait(false)) continue;
            if (!_options.PullModel)
            {
                LogMissing(model);
                continue;
            }
            LogPulling(model);
            var lastDecile = new Dictionary<string, int>(StringComparer.Ordinal);
            await foreach (var progress in _client.PullModelAsync(model, cancellationToken).ConfigureAwait(false))
            {
                if (progress is null) continue;
                if (progress.Total > 0 && progress.Digest is { } digest)
                {
                    // At most one line per 10 % step of each layer.
                    var decile = (int)(progress.Completed * 10 / progress.Total);
                    if (!lastDecile.TryGetValue(digest, out var seen) || decile > seen)
                    {
                        lastDecile[digest] = decile;
                        LogProgress(model, decile * 10, digest.Length > 19 ? digest[..19] : digest);
                    }
                }
                else if (progress.Status is { } status)
                {
                    LogStatus(model, status);
                }
            }
            LogPulled(model);
        }
    }

    /// <inheritdoc />
    public override async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await HasModelAsync(_options.DefaultModel, cancellationToken).ConfigureAwait(false)
                ? null
                : $"model {_options.DefaultModel} is not present in Ollama";
        }
        catch (HttpRequestException e)
        {
            return $"Ollama at {_options.ProviderUrl} does not answer: {e.Message}";
        }
    }

    private async Task<bool> HasModelAsync(string model, CancellationToken cancellationToken)
    {
        try
        {
            await _client.ShowModelAsync(model, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _chat.Dispose();
            _http.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} is missing in Ollama and D8_PULL_MODEL is false; the worker stays not-ready until it is pulled")]
    private partial void LogMissing(string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} is missing in Ollama: pulling it")]
    private partial void LogPulling(string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulling {Model}: {Percent}% of layer {Digest}")]
    private partial void LogProgress(string model, int percent, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulling {Model}: {Status}")]
    private partial void LogStatus(string model, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} pulled")]
    private partial void LogPulled(string model);
}
