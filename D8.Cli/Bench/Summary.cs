namespace D8.Cli.Bench;

/// <summary>Median and spread of a set of measurements.</summary>
public sealed record Summary(int Count, double? Median, double? Mean, double? Min, double? Max, double? StdDev, double? P90)
{
    /// <summary>Summarises the values; all figures are null when there are none.</summary>
    public static Summary Of(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return new Summary(0, null, null, null, null, null, null);
        var mean = sorted.Average();
        var variance = sorted.Length > 1 ? sorted.Sum(v => (v - mean) * (v - mean)) / (sorted.Length - 1) : 0;
        return new Summary(sorted.Length, Percentile(sorted, 0.5), mean, sorted[0], sorted[^1], Math.Sqrt(variance), Percentile(sorted, 0.9));
    }

    /// <summary>Linear-interpolated percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 1) return sorted[0];
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
