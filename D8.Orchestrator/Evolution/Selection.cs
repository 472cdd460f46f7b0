namespace D8.Orchestrator.Evolution;

/// <summary>
/// Selection without a generation barrier. A tournament's winner is decided as soon as one contestant's lowest possible
/// fitness beats every other contestant's highest possible one (ties go to the lower slot), so a child can be bred
/// while other genomes of the previous generation are still being evaluated; only tournaments that include a genome
/// whose pending cases could still change the outcome wait. Elites need the whole generation ranked, but they are
/// copies (no task), so waiting for them never holds the fleet.
/// </summary>
public static class Selection
{
    /// <summary>The winning slot, or null while the evaluations so far cannot decide it.</summary>
    public static int? Tournament(IReadOnlyList<int> contestants, Func<int, (double Lower, double Upper)> bounds)
    {
        foreach (var c in contestants)
        {
            var (lower, _) = bounds(c);
            var wins = true;
            foreach (var d in contestants)
            {
                if (d == c) continue;
                var (_, upper) = bounds(d);
                if (!(lower > upper || (lower == upper && c < d)))
                {
                    wins = false;
                    break;
                }
            }
            if (wins) return c;
        }
        return null;
    }

    /// <summary>Slots ranked best first (ties: lower slot first); every fitness must be known.</summary>
    public static IReadOnlyList<int> Ranking(IReadOnlyList<double> fitness) =>
        [.. Enumerable.Range(0, fitness.Count).OrderByDescending(i => fitness[i]).ThenBy(i => i)];

    /// <summary>Mean pairwise Jaccard distance of the prompts' word sets: 0 when all alike, 1 when nothing is shared.</summary>
    public static double Diversity(IReadOnlyList<string> prompts)
    {
        if (prompts.Count < 2) return 0;
        var sets = prompts.Select(p => p.ToLowerInvariant()
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal)).ToList();
        double sum = 0;
        var pairs = 0;
        for (var i = 0; i < sets.Count; i++)
        {
            for (var j = i + 1; j < sets.Count; j++)
            {
                var union = sets[i].Count + sets[j].Count - sets[i].Count(sets[j].Contains);
                sum += union == 0 ? 0 : 1 - (double)sets[i].Count(sets[j].Contains) / union;
                pairs++;
            }
        }
        return sum / pairs;
    }
}
