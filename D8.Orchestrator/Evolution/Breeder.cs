using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// What an empty slot becomes, once it can be decided: a seed mutation (a reflection waits for its seed's scores), an
/// elite copy of the previous generation's ranked best, or a child of its tournaments' winners (pareto runs: of
/// members drawn from the front). Returns the operator task to issue, or null when the slot was filled in place or
/// must wait; never submits anything itself. Reads the operator's reply into the slot. Called under the run's lock.
/// </summary>
internal sealed partial class Breeder(
    EvolutionSettings settings, IReadOnlyList<Genome[]> generations, RunRequests requests, MinibatchGate minibatch, ILogger logger, string runId)
{
    private readonly ILogger _logger = logger;
    private readonly Dictionary<int, (List<Genome> Pool, ParetoFront Front)> _fronts = [];

    /// <summary>Fills a slot without a prompt; genomes it changes are added to <paramref name="changed"/>.</summary>
    public SubmitTaskRequest? Breed(Genome genome, SlotPlan plan, List<Genome> changed)
    {
        var previous = genome.Generation > 0 ? generations[genome.Generation - 1] : null;
        switch (plan)
        {
            case SeedMutationSlot m:
                // A reflection needs its seed's answers and verdicts: it waits until the seed is scored.
                var seed = generations[0][m.SeedIndex];
                if (m.Operator == MutationOperatorNames.Reflect && !seed.Complete) return null;
                return requests.Mutation(genome, m.Operator, seed);
            case EliteSlot e when previous!.All(x => x.Complete):
                var ranking = Selection.Ranking([.. previous!.Select(x => x.Fitness(settings)!.Value)]);
                var parent = previous![ranking[e.Rank]];
                genome.Prompt = parent.Prompt;
                genome.CopyScoresFrom(parent);
                genome.TasksAtFitness = parent.TasksAtFitness;
                genome.Parents = [parent.Id];
                changed.Add(genome);
                return null;
            case ChildSlot c when settings.IsPareto:
                return BreedFromFront(genome, c, changed);
            case ChildSlot c:
                var a = Winner(c.TournamentA, previous!);
                var b = c.Crossover ? Winner(c.TournamentB!, previous!) : a;
                if (a is null || b is null) return null;
                if (genome.Parents.Count == 0)
                {
                    genome.Parents = a == b ? [previous![a.Value].Id] : [previous![a.Value].Id, previous[b.Value].Id];
                    if (a == b && c.Crossover) genome.Operator = c.Operator; // both tournaments chose the same parent
                    changed.Add(genome);
                }
                if (genome.Parents.Count == 1 && c.Operator == MutationOperatorNames.Reflect && !previous![a.Value].Complete) return null;
                return genome.Parents.Count == 2
                    ? requests.Operator(genome, EvolutionTaskKinds.Crossover, OperatorPrompts.Crossover(
                        previous![a.Value].Prompt!, previous[b.Value].Prompt!, c.MutateAfterCrossover ? c.Operator : null, genome.Id))
                    : requests.Mutation(genome, c.Operator, previous![a.Value]);
            default:
                return null;
        }
    }

    private int? Winner(IReadOnlyList<int> contestants, Genome[] previous)
    {
        var winner = Selection.Tournament(contestants, i => minibatch.BoundsOf(previous[i]));
        return winner is { } w && previous[w].Prompt is not null ? w : null;
    }

    /// <summary>
    /// A pareto child: parent A drawn from the front by the cases it leads; a merge child's parent B is a member that
    /// leads on a case A does not (without one, the child is a mutation of A with the slot's operator).
    /// </summary>
    private SubmitTaskRequest? BreedFromFront(Genome genome, ChildSlot c, List<Genome> changed)
    {
        if (FrontFor(genome.Generation) is not { } known) return null;
        var (pool, front) = known;
        var a = front.Draw(c.PickA);
        var b = c.Crossover ? front.Partner(a, c.PickB) : null;
        if (genome.Parents.Count == 0)
        {
            genome.Parents = b is null ? [pool[a.Index].Id] : [pool[a.Index].Id, pool[b.Index].Id];
            if (b is null) genome.Operator = c.Operator;
            changed.Add(genome);
        }
        return b is null
            ? requests.Mutation(genome, c.Operator, pool[a.Index])
            : requests.Operator(genome, EvolutionTaskKinds.Crossover,
                OperatorPrompts.Merge(pool[a.Index].Prompt!, a.Leads.ToList(), pool[b.Index].Prompt!, b.Leads.ToList(), genome.Id));
    }

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
            if (!generations[p].All(x => x.Complete)) return null;
        }
        var pool = Distinct(generations.Take(g).SelectMany(x => x));
        var front = RunViews.FrontOf(settings, pool);
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
    /// An operator's reply: the new prompt, or (reply not JSON with a non-empty "prompt") one more attempt, then the
    /// fallback: a copy of the first parent, marked <see cref="Genome.Fallback"/>. Never an empty genome. A prompt
    /// already scored elsewhere in the run takes that genome's scores (<paramref name="tasksIssued"/> as its tasks at fitness).
    /// </summary>
    public void Replied(Genome genome, string? reply, long tasksIssued)
    {
        if (reply is not null && OperatorPrompts.ReadPrompt(reply) is { } prompt)
        {
            genome.Prompt = prompt;
        }
        else if (reply is not null && genome.OperatorAttempts == 0)
        {
            genome.OperatorAttempts = 1; // Advance asks again, under a new idempotency key.
            LogOperatorRetry(runId, genome.Id);
            return;
        }
        else
        {
            genome.Prompt = ParentPrompt(genome);
            genome.Fallback = true;
            LogOperatorFallback(runId, genome.Id, reply is null ? "the task failed" : "the reply had no usable JSON prompt twice");
        }
        // The same prompt already scored elsewhere in the run: reuse its scores instead of evaluating it again.
        var twin = generations.SelectMany(g => g).FirstOrDefault(x => x != genome && x.Complete && x.Prompt == genome.Prompt);
        if (twin is not null)
        {
            genome.CopyScoresFrom(twin);
            genome.TasksAtFitness = tasksIssued;
        }
    }

    private string ParentPrompt(Genome genome)
    {
        var parentId = genome.Parents.FirstOrDefault();
        var parent = generations.SelectMany(g => g).FirstOrDefault(x => x.Id == parentId);
        return parent?.Prompt ?? settings.SeedPrompts[0];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Evolution {RunId}: genome {GenomeId}'s operator reply was not JSON with a prompt; asking once more")]
    private partial void LogOperatorRetry(string runId, string genomeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evolution {RunId}: genome {GenomeId} falls back to a copy of its parent: {Why}")]
    private partial void LogOperatorFallback(string runId, string genomeId, string why);
}
