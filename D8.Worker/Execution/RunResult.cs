using D8.Contracts;

namespace D8.Worker.Execution;

/// <summary>What one successful provider run produced, with the figures reported to the orchestrator.</summary>
public sealed record RunResult(
    string Content,
    string? FinishReason,
    string Model,
    TokenUsage? Usage,
    double? TimeToFirstTokenMs,
    double DurationMs,
    double? TokensPerSecond);
