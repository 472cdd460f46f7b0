using D8.Contracts;

namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun
{
    private readonly Dictionary<int, (List<Genome> Pool, ParetoFront Front)> _fronts = [];

    /// <summary>
    /// The pool generation <paramref name="g"/>'s pareto children are drawn from: every genome of the generations
    /// before it, once all of them are scored (one per distinct prompt, the earliest), and its per-case front.
    /// Null while an earlier genome is still being scored. Computed once per generation: it cannot change after.
    /// </summary>
    private (List<Genome> Pool, ParetoFront Front)? FrontFor(int g)
    {
        if (_fronts.TryGetValue(g, out var known)) return known;
        for (var p = 0; p < g; p++)
        {
            if (!_generations[p].All(x => x.Complete)) return null;
        }
        var pool = Distinct(_generations.Take(g).SelectMany(x => x));
        var front = RunViews.FrontOf(Settings, pool);
        _fronts[g] = (pool, front);
        return (pool, front);
    }

    /// <summary>Fully scored genomes, one per distinct prompt (the earliest), in generation and slot order.</summary>
    internal static List<Genome> Distinct(IEnumerable<Genome> genomes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. genomes.Where(x => x.Complete && seen.Add(x.Prompt!))];
    }

    /// <summary>
    /// A pareto child: parent A drawn from the front by the cases it leads; a merge child's parent B is a member that
    /// leads on a case A does not (without one, the child is a mutation of A with the slot's operator).
    /// </summary>
    private void BreedFromFront(Genome genome, ChildSlot c, List<Genome> changed, List<Action> starts)
    {
        if (FrontFor(genome.Generation) is not { } known) return;
        var (pool, front) = known;
        var a = front.Draw(c.PickA);
        var b = c.Crossover ? front.Partner(a, c.PickB) : null;
        if (genome.Parents.Count == 0)
        {
            genome.Parents = b is null ? [pool[a.Index].Id] : [pool[a.Index].Id, pool[b.Index].Id];
            if (b is null) genome.Operator = c.Operator;
            changed.Add(genome);
        }
        var request = b is null
            ? _requests.Mutation(genome, c.Operator, pool[a.Index])
            : _requests.Operator(genome, EvolutionTaskKinds.Crossover,
                OperatorPrompts.Merge(pool[a.Index].Prompt!, a.Leads.ToList(), pool[b.Index].Prompt!, b.Leads.ToList(), genome.Id));
        Issue(Purpose.Operator, genome, -1, _requests.OperatorKey(genome), request, starts);
    }
}
