using D8.Contracts;
using D8.Worker.Execution;
using Microsoft.Extensions.AI;

namespace D8.Worker.Providers;

/// <summary>One LLM provider behind Microsoft.Extensions.AI's <see cref="IChatClient"/>, plus what differs per provider.</summary>
public abstract class ChatProvider : IDisposable
{
    /// <summary>Source name of the gen_ai.* spans the OpenTelemetry chat client emits.</summary>
    public const string GenAiSourceName = "D8.Worker.GenAI";

    /// <summary>The chat client for <paramref name="model"/>, already wrapped with OpenTelemetry.</summary>
    public abstract IChatClient ChatFor(string model);

    /// <summary>Request options for a lease: max tokens, temperature, JSON mode, provider extras.</summary>
    public virtual ChatOptions CreateOptions(TaskLease lease, string model) => new()
    {
        ModelId = model,
        Temperature = lease.Temperature is { } t ? (float)t : null,
        MaxOutputTokens = lease.MaxTokens,
        ResponseFormat = lease.JsonMode ? ChatResponseFormat.Json : null,
        TopP = lease.TopP is { } p ? (float)p : null,
        StopSequences = lease.Stop is { Count: > 0 } stop ? [.. stop] : null,
        Seed = lease.Seed,
    };

    /// <summary>Takes provider-specific figures from one streamed update.</summary>
    public virtual void Observe(ChatResponseUpdate update, RunMeter meter)
    {
    }

    /// <summary>Throws when the stream ended without the provider's end-of-answer marker.</summary>
    public virtual void EnsureComplete(RunMeter meter)
    {
    }

    /// <summary>Gets the provider ready (Ollama pulls a missing model); throws when it cannot.</summary>
    public virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Checks the provider answers, accepts the key and has the default model; null when ready, else why not.</summary>
    public abstract Task<string?> ProbeAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the HTTP clients.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
