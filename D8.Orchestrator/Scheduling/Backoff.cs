namespace D8.Orchestrator.Scheduling;

/// <summary>Retry delay: 2 s × 2^(attempt-1), ±20 % jitter so retries of a burst spread out, capped at 60 s.</summary>
public static class Backoff
{
    public static readonly TimeSpan Base = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan Cap = TimeSpan.FromSeconds(60);
    public const double Jitter = 0.2;

    /// <summary>Delay before the retry that follows failed attempt number <paramref name="attempt"/> (1-based).</summary>
    public static TimeSpan Delay(int attempt, Random random)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var seconds = Math.Min(Base.TotalSeconds * Math.Pow(2, exponent), Cap.TotalSeconds);
        var factor = 1 + ((random.NextDouble() * 2) - 1) * Jitter;
        return TimeSpan.FromSeconds(Math.Min(seconds * factor, Cap.TotalSeconds));
    }
}
