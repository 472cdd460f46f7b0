using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using Microsoft.Extensions.AI;
using OpenAI;

namespace D8.Worker.Providers.OpenAICompatible;

/// <summary>Groq, Gemini or any OpenAI-compatible endpoint through the official OpenAI SDK, with its retries off.</summary>
public sealed class OpenAICompatibleProvider : ChatProvider
{
    private readonly WorkerOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly OpenAIClient _client;
    private readonly ConcurrentDictionary<string, IChatClient> _chats = new(StringComparer.Ordinal);

    /// <param name="http">From IHttpClientFactory in the host (so ServiceDefaults' handlers apply); tests may pass none.</param>
    public OpenAICompatibleProvider(WorkerOptions options, ILoggerFactory loggers, HttpClient? http = null)
    {
        _options = options;
        _loggers = loggers;
        var clientOptions = new OpenAIClientOptions
        {
            // The SDK appends "chat/completions" itself; a trailing slash would double it.
            Endpoint = new Uri(options.ProviderUrl.ToString().TrimEnd('/')),
            // One retry loop, the orchestrator's: a 429 must reach it, not be retried away here.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = options.RequestTimeout,
        };
        if (http is not null)
        {
            clientOptions.Transport = new HttpClientPipelineTransport(http);
        }
        _client = new OpenAIClient(new ApiKeyCredential(options.ApiKey ?? ""), clientOptions);
    }

    /// <inheritdoc />
    public override IChatClient ChatFor(string model) =>
        _chats.GetOrAdd(model, m => _client.GetChatClient(m).AsIChatClient()
            .AsBuilder().UseOpenTelemetry(_loggers, GenAiSourceName).Build());

    /// <inheritdoc />
    public override void EnsureComplete(RunMeter meter)
    {
        // The OpenAI SDK ends the stream quietly on an SSE error event: no finish_reason means no complete answer.
        if (meter.FinishReason is null) throw new IncompleteStreamException("the provider's stream ended without a finish_reason (error event or cut stream)");
    }

    /// <inheritdoc />
    public override async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        var models = await _client.GetOpenAIModelClient().GetModelsAsync(cancellationToken).ConfigureAwait(false);
        var wanted = _options.DefaultModel;
        // Gemini lists "models/gemini-2.5-flash"; others list the bare id.
        return models.Value.Any(m => m.Id == wanted || m.Id.EndsWith("/" + wanted, StringComparison.Ordinal))
            ? null
            : $"model {wanted} is not offered by {_options.ProviderUrl.Host}";
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var chat in _chats.Values) chat.Dispose();
        }
    }
}
