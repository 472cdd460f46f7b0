namespace D8.Benchmarks.Schedule;

/// <summary>
/// Lower bounds of a batch's makespan. Neither counts rate-limit refusals (the storm), so the storm's bounds are the
/// free tier's.
/// </summary>
internal static class MakespanBound
{
    /// <summary>
    /// The bound, the one a ratio is taken against: the batch's total work divided by the fleet's aggregate
    /// rate, and never less than the longest task on the fastest worker. A worker's rate is the least of its speed
    /// (slots × tokens/s), its steady tokens-per-minute rate (TPM / 60) and what its request budgets allow over the
    /// batch: in a batch of T seconds it makes at most RPM × T / 60 requests and never more than its daily budget,
    /// each carrying one of the batch's longest tasks. That rate depends on T, so T is the least time whose aggregate
    /// rate × T holds the batch.
    /// </summary>
    public static double Seconds(IReadOnlyList<int> tasks, IReadOnlyList<WorkerSpec> fleet) =>
        Solve(tasks, fleet, steady: true);

    /// <summary>
    /// A stricter (lower) capacity bound: as <see cref="Seconds"/>, but a budgeted worker gets each minute window in
    /// full at the window's start (a full tokens-per-minute and requests-per-minute window at t = 0, the next at 60 s,
    /// …), which is what a worker can really spend. Printed beside the bound for information.
    /// </summary>
    public static double CapacitySeconds(IReadOnlyList<int> tasks, IReadOnlyList<WorkerSpec> fleet) =>
        Solve(tasks, fleet, steady: false);

    private static double Solve(IReadOnlyList<int> tasks, IReadOnlyList<WorkerSpec> fleet, bool steady)
    {
        var sorted = tasks.OrderByDescending(t => t).ToArray();
        var prefix = new double[sorted.Length + 1];
        for (var i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
        var total = prefix[^1];
        var longest = sorted[0] / fleet.Max(w => w.TokensPerSecond);

        // Tokens the n longest tasks carry (n may be fractional: a steady request rate).
        double Longest(double n)
        {
            if (n >= sorted.Length) return total;
            var whole = (int)Math.Floor(n);
            return prefix[whole] + (n - whole) * sorted[whole];
        }

        double Windows(double t, double length) => steady ? t / length : Math.Floor(t / length) + 1;

        double Capacity(double t) => fleet.Sum(w =>
        {
            var cap = w.Slots * w.TokensPerSecond * t;
            if (w.Tpm > 0) cap = Math.Min(cap, w.Tpm * Windows(t, 60));
            var requests = double.PositiveInfinity;
            if (w.Rpm > 0) requests = w.Rpm * Windows(t, 60);
            if (w.Rpd > 0) requests = Math.Min(requests, w.Rpd * (Math.Floor(t / 86_400) + 1));
            if (!double.IsPositiveInfinity(requests)) cap = Math.Min(cap, Longest(requests));
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
