namespace D8.Orchestrator.Scheduling.Placement;

/// <summary>
/// The decisions of the <see cref="SchedulerKind.Fastest"/> scheduler, as pure functions of estimates (no clock, no
/// engine state), so they are tested on their own.
/// </summary>
public static class PlacementPolicy
{
    /// <summary>A copy is started only if the running one is expected to need this many times longer than the copy.</summary>
    public const double SpeculationFactor = 1.5;

    /// <summary>A run of unknown speed is presumed stuck once it has taken this many times the copy's expected time.</summary>
    public const double UnknownStuckFactor = 2;

    /// <summary>
    /// Whether a worker expected to need <paramref name="seconds"/> for a task of <paramref name="taskTokens"/> output
    /// tokens should take it: yes when its speed is unknown (that is how it gets measured), when no faster worker can
    /// run the task, or when it finishes no later than the faster workers (<paramref name="faster"/>) would have worked
    /// through their running leases, this task and the ready tasks ahead of or beside it (<paramref name="backlog"/>,
    /// read lazily and only as far as needed). Otherwise the task is better left to the faster workers.
    /// </summary>
    public static bool ShouldTake(double? seconds, int taskTokens, IReadOnlyList<PoolMember> faster, IEnumerable<int> backlog)
    {
        if (seconds is not { } mine || faster.Count == 0)
        {
            return true;
        }
        var rate = 0.0;
        var work = (double)taskTokens;
        foreach (var f in faster)
        {
            rate += f.TokensPerSecond;
            work += f.BusyTokens;
        }
        if (rate <= 0)
        {
            return true;
        }
        var capped = faster.Any(f => f.TokenCap is not null);
        if (!capped && work / rate >= mine)
        {
            return true;
        }
        foreach (var tokens in backlog)
        {
            work += tokens;
            if (!capped && work / rate >= mine)
            {
                return true;
            }
        }
        return mine <= DrainSeconds(work, faster);
    }

    /// <summary>
    /// Seconds for <paramref name="faster"/> to do <paramref name="work"/> tokens (their busy tokens included by the
    /// caller), each worker's share limited by its daily cap; infinite when they cannot do it all.
    /// </summary>
    public static double DrainSeconds(double work, IReadOnlyList<PoolMember> faster)
    {
        var rate = faster.Sum(f => f.TokensPerSecond);
        if (rate <= 0)
        {
            return double.PositiveInfinity;
        }
        var seconds = work / rate;
        // A capped worker contributes at most its cap; the others carry the rest (a few rounds settle it).
        for (var round = 0; round < 4; round++)
        {
            var capacity = 0.0;
            var uncappedRate = 0.0;
            foreach (var f in faster)
            {
                if (f.TokenCap is { } cap && f.TokensPerSecond * seconds > cap) capacity += cap;
                else uncappedRate += f.TokensPerSecond;
            }
            if (uncappedRate <= 0)
            {
                return capacity >= work ? seconds : double.PositiveInfinity;
            }
            seconds = Math.Max(0, work - capacity) / uncappedRate;
        }
        return seconds;
    }

    /// <summary>
    /// Whether an idle worker expected to need <paramref name="copySeconds"/> should run a copy of a task another worker
    /// runs, expected to need <paramref name="holderRemainingSeconds"/> more (null when the holder's speed is unknown:
    /// then it counts as stuck once <paramref name="elapsedSeconds"/> exceeds <see cref="UnknownStuckFactor"/> times the copy
    /// and <paramref name="stuckAfterSeconds"/>).
    /// </summary>
    public static bool ShouldSpeculate(double copySeconds, double? holderRemainingSeconds, double elapsedSeconds,
        double stuckAfterSeconds = 0)
    {
        var remaining = holderRemainingSeconds
            ?? (elapsedSeconds > Math.Max(UnknownStuckFactor * copySeconds, stuckAfterSeconds) ? double.PositiveInfinity : 0);
        return remaining > SpeculationFactor * copySeconds;
    }

    /// <summary>Tokens of a running lease still to come, expected from its elapsed and total times.</summary>
    public static double RemainingTokens(int tokens, double elapsedSeconds, double? expectedSeconds) =>
        expectedSeconds is > 0 ? tokens * Math.Max(0, 1 - elapsedSeconds / expectedSeconds.Value) : tokens;
}
