namespace D8.Orchestrator.Scheduling.Placement;

/// <summary>
/// A speed sample from what the orchestrator saw itself, not from what a worker claims: the time from the lease to
/// the completion report, and the output tokens — the reported count, capped by the task's max_tokens and by the
/// characters the answer actually holds. The reported time to first token is only a hint, bounded to half the
/// observed time, and no sample is faster than <see cref="MaxTokensPerSecond"/>. A worker that reports absurd figures
/// is therefore measured at the speed it really delivers answers, and gets no more of the queue than that earns.
/// </summary>
public static class ObservedRun
{
    /// <summary>No request is credited with more output tokens per second than this (hosted providers reach a few thousand).</summary>
    public const double MaxTokensPerSecond = 5_000;

    /// <summary>Slack for tokens that print nothing (end-of-sequence, special tokens) when capping by characters.</summary>
    private const int SilentTokens = 16;

    /// <summary>The figures to learn from, or null when the run tells nothing (no time elapsed, no tokens).</summary>
    public static (int Tokens, double TimeToFirstTokenMs, double DurationMs, double TokensPerSecond)? Sample(
        TimeSpan leaseToReport, int? reportedTokens, int? maxTokens, int answerChars, double? reportedTimeToFirstTokenMs)
    {
        if (leaseToReport <= TimeSpan.Zero || reportedTokens is not > 0) return null;
        var tokens = Math.Min(reportedTokens.Value, answerChars + SilentTokens);
        if (maxTokens is > 0) tokens = Math.Min(tokens, maxTokens.Value);
        if (tokens <= 0) return null;
        var durationMs = leaseToReport.TotalMilliseconds;
        var ttftMs = Math.Clamp(reportedTimeToFirstTokenMs ?? 0, 0, durationMs / 2);
        var tps = Math.Min(tokens / ((durationMs - ttftMs) / 1000), MaxTokensPerSecond);
        return (tokens, ttftMs, durationMs, tps);
    }
}
