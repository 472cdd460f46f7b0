namespace D8.Cli.Bench;

/// <summary>One benchmark task as measured.</summary>
public sealed record BenchRun(
    string TaskId,
    string State,
    string? Worker,
    string? Provider,
    string? Model,
    double? TimeToFirstTokenMs,
    double? TokensPerSecond,
    int? CompletionTokens,
    double EndToEndMs,
    string? Error);

/// <summary>What <c>d8 bench</c> reports: per-run figures and their summaries.</summary>
public sealed record BenchReport(
    int Requested,
    int Succeeded,
    double SuccessRate,
    string? Model,
    string? Provider,
    string? Worker,
    Summary TimeToFirstTokenMs,
    Summary TokensPerSecond,
    Summary EndToEndMs,
    double WallSeconds,
    IReadOnlyList<BenchRun> Runs);
