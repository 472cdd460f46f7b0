namespace D8.Benchmarks.Schedule;

/// <summary>
/// The lower bound of a batch's makespan: the shortest time T in which the fleet's aggregate capacity could hold all
/// the batch's tokens, and never less than the longest task on the fastest worker. A worker's capacity in T is the
/// least of its speed (slots × tokens/s × T), its tokens-per-minute budget (a full window at once, then the rate), and
/// what its request budgets (per minute, per day) allow if every request carried one of the batch's longest tasks.
/// Rate-limit refusals (the storm) are not counted in, so the bound is the same as without them.
/// </summary>
internal static class MakespanBound
{
    public static double Seconds(IReadOnlyList<int> tasks, IReadOnlyList<WorkerSpec> fleet)
    {
        var sorted = tasks.OrderByDescending(t => t).ToArray();
        var prefix = new double[sorted.Length + 1];
        for (var i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
        var total = prefix[^1];
        var longest = sorted[0] / fleet.Max(w => w.TokensPerSecond);

        double Capacity(double t) => fleet.Sum(w =>
        {
            var cap = w.Slots * w.TokensPerSecond * t;
            if (w.Tpm > 0) cap = Math.Min(cap, w.Tpm * (Math.Floor(t / 60) + 1));
            var requests = double.PositiveInfinity;
            if (w.Rpm > 0) requests = w.Rpm * (Math.Floor(t / 60) + 1);
            if (w.Rpd > 0) requests = Math.Min(requests, w.Rpd * (Math.Floor(t / 86_400) + 1));
            if (!double.IsPositiveInfinity(requests)) cap = Math.Min(cap, prefix[(int)Math.Min(requests, sorted.Length)]);
            return cap;
        });

        double lo = 0, hi = total / fleet.Min(w => w.TokensPerSecond);
        for (var i = 0; i < 100; i++)
        {
            var mid = (lo + hi) / 2;
            if (Capacity(mid) >= total) hi = mid;
            else lo = mid;
        }
        return Math.Max(hi, longest);
    }
}
