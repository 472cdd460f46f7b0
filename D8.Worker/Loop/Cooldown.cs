namespace D8.Worker.Loop;

/// <summary>
/// When this worker may lease again after a rate limit, a spent daily budget or the orchestrator's cooldown. Only ever
/// extended, never shortened; safe to use from every slot and the heartbeat at once.
/// </summary>
internal sealed class Cooldown(TimeProvider time)
{
    private long _untilTicks;

    /// <summary>How long is left (zero or negative when none).</summary>
    public TimeSpan Remaining => new DateTimeOffset(Interlocked.Read(ref _untilTicks), TimeSpan.Zero) - time.GetUtcNow();

    /// <summary>No leases until now + <paramref name="wait"/>, unless a later cooldown is already set.</summary>
    public void Extend(TimeSpan wait)
    {
        var until = (time.GetUtcNow() + wait).UtcTicks;
        long seen;
        do
        {
            seen = Interlocked.Read(ref _untilTicks);
            if (seen >= until) return;
        }
        while (Interlocked.CompareExchange(ref _untilTicks, until, seen) != seen);
    }
}
