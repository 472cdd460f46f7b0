using System.Text;
using D8.Contracts;
using Microsoft.Extensions.AI;

namespace D8.Worker.Execution;

/// <summary>Collects a streamed answer: text, time to first token, finish reason and the provider's usage figures.</summary>
public sealed class RunMeter(TimeProvider time)
{
    private readonly long _start = time.GetTimestamp();
    private readonly StringBuilder _text = new();
    private long? _firstToken;
    private long? _end;

    public string? FinishReason { get; set; }
    public int? PromptTokens { get; set; }
    public int? CompletionTokens { get; set; }
    /// <summary>Generation time as the provider measured it (Ollama's eval_duration), when it reports one.</summary>
    public TimeSpan? ProviderEvalDuration { get; set; }
    /// <summary>True once the provider sent its end-of-answer marker (Ollama's done: true).</summary>
    public bool SawDone { get; set; }

    /// <summary>Takes the generic parts of one update: text, finish reason, usage.</summary>
    public void Observe(ChatResponseUpdate update)
    {
        var text = update.Text;
        if (!string.IsNullOrEmpty(text))
        {
            _firstToken ??= time.GetTimestamp();
            _text.Append(text);
        }
        if (update.FinishReason is { } reason) FinishReason = reason.Value;
        foreach (var usage in update.Contents.OfType<UsageContent>())
        {
            PromptTokens = (int?)usage.Details.InputTokenCount ?? PromptTokens;
            CompletionTokens = (int?)usage.Details.OutputTokenCount ?? CompletionTokens;
        }
    }

    /// <summary>Marks the end of the stream.</summary>
    public void Finish() => _end = time.GetTimestamp();

    /// <summary>The result to report.</summary>
    public RunResult ToResult(string model)
    {
        var end = _end ?? time.GetTimestamp();
        var duration = time.GetElapsedTime(_start, end);
        double? ttft = _firstToken is { } f ? time.GetElapsedTime(_start, f).TotalMilliseconds : null;
        double? tps = null;
        if (CompletionTokens is { } tokens && tokens > 0)
        {
            // Prefer the provider's own generation time; otherwise first token to end of stream.
            var generation = ProviderEvalDuration
                ?? (_firstToken is { } ft ? time.GetElapsedTime(ft, end) : duration);
            if (generation > TimeSpan.Zero) tps = tokens / generation.TotalSeconds;
        }
        TokenUsage? usage = PromptTokens is null && CompletionTokens is null
            ? null
            : new TokenUsage(PromptTokens, CompletionTokens, (PromptTokens ?? 0) + (CompletionTokens ?? 0));
        return new RunResult(_text.ToString(), FinishReason, model, usage, ttft, duration.TotalMilliseconds, tps);
    }
}
