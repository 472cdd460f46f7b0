namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun
{
    private const double Tie = 1e-12;
    private readonly Dictionary<int, IReadOnlyList<int>?> _minibatches = [];

    /// <summary>
    /// A bred child (not a seed, elite or fallback copy) whose minibatch gate is still open: with minibatch_size on, it
    /// is scored on its generation's minibatch first and gets the full evaluation only if it does not lose to its
    /// parent there.
    /// </summary>
    private bool Gated(Genome x) =>
        x.Parents.Count > 0 && x.Operator != "elite" && !x.Fallback && x.MinibatchPassed is null && MinibatchOf(x.Generation) is not null;

    private IReadOnlyList<int>? MinibatchOf(int generation)
    {
        if (!_minibatches.TryGetValue(generation, out var batch)) _minibatches[generation] = batch = GenerationPlan.Minibatch(Settings, generation);
        return batch;
    }

    /// <summary>
    /// The cases to evaluate now: every case, or (gate open) the generation's minibatch. Closes the gate once the
    /// minibatch and the parents are scored: a child at least as good as its best parent on the minibatch passes; one
    /// that loses — or whose prompt already lost in this run — becomes a copy of that parent (its scores, no task),
    /// its own prompt kept in the lineage as <see cref="Genome.RejectedPrompt"/>.
    /// </summary>
    private IEnumerable<int> CasesToEvaluate(Genome genome, HashSet<string> rejected, List<Genome> changed)
    {
        var all = Enumerable.Range(0, genome.Scores.Length);
        if (!Gated(genome)) return all;
        var batch = MinibatchOf(genome.Generation)!;
        var parents = genome.Parents.Select(GenomeById).OfType<Genome>().ToList();
        var ready = parents.Count > 0 && parents.All(p => p.Complete);
        if (!ready) return batch.Where(c => genome.Scores[c] is null);
        var best = parents.OrderByDescending(p => Mean(p, batch)).First();
        if (rejected.Contains(genome.Prompt!))
        {
            Reject(genome, best, rejected, changed);
            return [];
        }
        if (batch.Any(c => genome.Scores[c] is null)) return batch;
        genome.MinibatchScore = Mean(genome, batch);
        if (genome.MinibatchScore >= Mean(best, batch) - Tie)
        {
            genome.MinibatchPassed = true;
            changed.Add(genome);
            return all;
        }
        Reject(genome, best, rejected, changed);
        return [];
    }

    private void Reject(Genome genome, Genome parent, HashSet<string> rejected, List<Genome> changed)
    {
        genome.MinibatchPassed = false;
        genome.RejectedPrompt = genome.Prompt;
        rejected.Add(genome.Prompt!);
        genome.Prompt = parent.Prompt;
        genome.CopyScoresFrom(parent);
        genome.TasksAtFitness = TasksIssued;
        changed.Add(genome);
    }

    /// <summary>Weighted mean of a genome's scores on <paramref name="cases"/> (all scored).</summary>
    private double Mean(Genome g, IReadOnlyList<int> cases) =>
        cases.Sum(c => Settings.WeightOf(c) * (g.Scores[c] ?? 0)) / cases.Sum(Settings.WeightOf);

    /// <summary>
    /// A genome's fitness bounds for tournaments: while its minibatch gate is open it may still end as a copy of a
    /// parent, so its bounds also cover the parents' (the outcome stays exact, whatever the gate decides).
    /// </summary>
    private (double Lower, double Upper) BoundsOf(Genome x)
    {
        var (lower, upper) = x.Bounds(Settings);
        if (x.Prompt is null || !Gated(x)) return (lower, upper);
        foreach (var parent in x.Parents.Select(GenomeById).OfType<Genome>())
        {
            var (pl, pu) = BoundsOf(parent);
            (lower, upper) = (Math.Min(lower, pl), Math.Max(upper, pu));
        }
        return (lower, upper);
    }

    /// <summary>The genome "g{generation}s{slot}", or null.</summary>
    private Genome? GenomeById(string id)
    {
        var s = id.IndexOf('s', StringComparison.Ordinal);
        return id.Length > 1 && id[0] == 'g' && s > 1
            && int.TryParse(id.AsSpan(1, s - 1), System.Globalization.CultureInfo.InvariantCulture, out var g)
            && int.TryParse(id.AsSpan(s + 1), System.Globalization.CultureInfo.InvariantCulture, out var slot)
            && g < _generations.Count && slot < _generations[g].Length ? _generations[g][slot] : null;
    }
}
