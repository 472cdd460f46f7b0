namespace D8.Worker.Loop;

/// <summary>Capped exponential backoff with jitter for calls to the orchestrator.</summary>
public sealed class Backoff(TimeSpan first, TimeSpan cap)
{
    private TimeSpan? _next;

    /// <summary>The next wait (±20 % jitter), doubling up to the cap.</summary>
    public TimeSpan Next()
    {
        var current = _next ?? first;
        _next = current * 2 > cap ? cap : current * 2;
        return current * (0.8 + Random.Shared.NextDouble() * 0.4);
    }

    /// <summary>Starts again from the first wait.</summary>
    public void Reset() => _next = null;
}
