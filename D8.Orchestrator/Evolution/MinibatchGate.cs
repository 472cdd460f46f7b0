using System.Globalization;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// A run's minibatch gate (spec <c>minibatch_size</c>): a bred child — not a seed, elite or fallback copy — is scored
/// on its generation's minibatch first and gets the full evaluation only if it does not lose to its best parent there;
/// one that loses becomes a copy of that parent. Also the fitness bounds that keep tournaments exact while a gate is
/// open. Reads and writes only the genomes it is given; called under the run's lock.
/// </summary>
internal sealed class MinibatchGate(EvolutionSettings settings, IReadOnlyList<Genome[]> generations)
{
    private const double Tie = 1e-12;
    private readonly Dictionary<int, IReadOnlyList<int>?> _minibatches = [];

    /// <summary>A bred child whose minibatch gate is still open (always false with minibatch_size off).</summary>
    public bool Gated(Genome x) =>
        x.Parents.Count > 0 && x.Operator != "elite" && !x.Fallback && x.MinibatchPassed is null && MinibatchOf(x.Generation) is not null;

    private IReadOnlyList<int>? MinibatchOf(int generation)
    {
        if (!_minibatches.TryGetValue(generation, out var batch)) _minibatches[generation] = batch = GenerationPlan.Minibatch(settings, generation);
        return batch;
    }

    /// <summary>
    /// The cases to evaluate now: every case, or (gate open) the generation's minibatch. Closes the gate once the
    /// minibatch and the parents are scored: a child at least as good as its best parent on the minibatch passes; one
    /// that loses — or whose prompt already lost in this run (<paramref name="rejected"/>) — becomes a copy of that
    /// parent (its scores, no task, <paramref name="tasksIssued"/> as its tasks at fitness), its own prompt kept in the
    /// lineage as <see cref="Genome.RejectedPrompt"/>. Genomes it changes are added to <paramref name="changed"/>.
    /// </summary>
    public IEnumerable<int> CasesToEvaluate(Genome genome, HashSet<string> rejected, List<Genome> changed, long tasksIssued)
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
            Reject(genome, best, rejected, changed, tasksIssued);
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
        Reject(genome, best, rejected, changed, tasksIssued);
        return [];
    }

    private static void Reject(Genome genome, Genome parent, HashSet<string> rejected, List<Genome> changed, long tasksIssued)
    {
        genome.MinibatchPassed = false;
        genome.RejectedPrompt = genome.Prompt;
        rejected.Add(genome.Prompt!);
        genome.Prompt = parent.Prompt;
        genome.CopyScoresFrom(parent);
        genome.TasksAtFitness = tasksIssued;
        changed.Add(genome);
    }

    /// <summary>Weighted mean of a genome's scores on <paramref name="cases"/> (all scored).</summary>
    private double Mean(Genome g, IReadOnlyList<int> cases) =>
        cases.Sum(c => settings.WeightOf(c) * (g.Scores[c] ?? 0)) / cases.Sum(settings.WeightOf);

    /// <summary>
    /// A genome's fitness bounds for tournaments: while its minibatch gate is open it may still end as a copy of a
    /// parent, so its bounds also cover the parents' (the outcome stays exact, whatever the gate decides).
    /// </summary>
    public (double Lower, double Upper) BoundsOf(Genome x)
    {
        var (lower, upper) = x.Bounds(settings);
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
            && int.TryParse(id.AsSpan(1, s - 1), CultureInfo.InvariantCulture, out var g)
            && int.TryParse(id.AsSpan(s + 1), CultureInfo.InvariantCulture, out var slot)
            && g < generations.Count && slot < generations[g].Length ? generations[g][slot] : null;
    }
}
