namespace D8.Orchestrator.Evolution;

/// <summary>How one slot of a generation is filled.</summary>
public abstract record SlotPlan;

/// <summary>Generation 0: a seed prompt as it is.</summary>
public sealed record SeedSlot(int SeedIndex) : SlotPlan;

/// <summary>The rank-th best genome of the previous generation, copied with its scores (no task).</summary>
public sealed record EliteSlot(int Rank) : SlotPlan;

/// <summary>Generation 0 beyond the seeds: a mutation of a seed.</summary>
public sealed record SeedMutationSlot(int SeedIndex, string Operator) : SlotPlan;

/// <summary>
/// A child: tournament A's winner mutated with <see cref="Operator"/>, or (with <see cref="Crossover"/>) crossed with
/// tournament B's winner, then also mutated when <see cref="MutateAfterCrossover"/>. Contestants are slots of the
/// previous generation. With pareto selection there are no tournaments: <see cref="PickA"/> and <see cref="PickB"/>
/// (uniform in [0, 1)) choose the parents from the front by weight (<see cref="ParetoFront"/>), and a crossover is a
/// merge of two front members that lead on different cases.
/// </summary>
public sealed record ChildSlot(
    bool Crossover, IReadOnlyList<int> TournamentA, IReadOnlyList<int>? TournamentB, string Operator, bool MutateAfterCrossover,
    double PickA = 0, double PickB = 0) : SlotPlan;

/// <summary>
/// Every random draw of a run, made per generation from (seed, generation) alone: which operator, which contestants.
/// None depends on fitness or LLM output, so a resumed run draws exactly what it drew before, and the same seed gives
/// the same draws. Fitness only decides who wins each tournament (<see cref="Selection"/>).
/// </summary>
public static class GenerationPlan
{
    public static IReadOnlyList<SlotPlan> For(EvolutionSettings s, int generation)
    {
        var rng = new Random(SeedFor(s.Seed, generation));
        var slots = new List<SlotPlan>(s.PopulationSize);
        if (generation == 0)
        {
            for (var i = 0; i < s.PopulationSize; i++)
            {
                var op = s.MutationOperators[rng.Next(s.MutationOperators.Count)];
                slots.Add(i < s.SeedPrompts.Count ? new SeedSlot(i) : new SeedMutationSlot(i % s.SeedPrompts.Count, op));
            }
            return slots;
        }
        for (var i = 0; i < s.PopulationSize; i++)
        {
            if (i < s.EliteCount)
            {
                slots.Add(new EliteSlot(i));
                continue;
            }
            if (s.IsPareto)
            {
                var merge = rng.NextDouble() < s.CrossoverRate;
                double pickA = rng.NextDouble(), pickB = rng.NextDouble();
                slots.Add(new ChildSlot(merge, [], null, s.MutationOperators[rng.Next(s.MutationOperators.Count)], false, pickA, pickB));
                continue;
            }
            var crossover = rng.NextDouble() < s.CrossoverRate;
            var a = Draw(rng, s.PopulationSize, s.TournamentSize);
            var b = Draw(rng, s.PopulationSize, s.TournamentSize);
            var op = s.MutationOperators[rng.Next(s.MutationOperators.Count)];
            var then = rng.NextDouble() < s.MutationRate;
            slots.Add(new ChildSlot(crossover, a, crossover ? b : null, op, crossover && then));
        }
        return slots;
    }

    /// <summary>
    /// The generation's minibatch: minibatch_size distinct case indexes (ascending), drawn from (seed, generation) on a
    /// stream of its own (the other draws are the same with or without it); null when minibatches are off.
    /// </summary>
    public static IReadOnlyList<int>? Minibatch(EvolutionSettings s, int generation)
    {
        if (s.MinibatchSize <= 0 || s.MinibatchSize >= s.Cases.Count) return null;
        var rng = new Random(SeedFor(s.Seed ^ 0x6D696E69L, generation));
        return [.. Draw(rng, s.Cases.Count, s.MinibatchSize).Order()];
    }

    /// <summary>k distinct slots out of n (partial Fisher–Yates).</summary>
    private static int[] Draw(Random rng, int n, int k)
    {
        var pool = Enumerable.Range(0, n).ToArray();
        for (var i = 0; i < k; i++)
        {
            var j = rng.Next(i, n);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool[..k];
    }

    /// <summary>A 32-bit seed from (run seed, generation), mixed with SplitMix64 so neighbouring generations differ.</summary>
    public static int SeedFor(long seed, int generation)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(generation + 1));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return unchecked((int)z);
    }

    /// <summary>A slot's genome before anything ran: its id and operator, and the prompt of a seed.</summary>
    public static Genome NewGenome(EvolutionSettings settings, int generation, int slot, SlotPlan plan)
    {
        var genome = new Genome
        {
            Id = $"g{generation}s{slot}",
            Generation = generation,
            Slot = slot,
            Operator = plan switch
            {
                SeedSlot => "seed",
                EliteSlot => "elite",
                SeedMutationSlot m => m.Operator,
                ChildSlot { Crossover: true } when settings.IsPareto => "merge",
                ChildSlot { Crossover: true, MutateAfterCrossover: true } c => "crossover+" + c.Operator,
                ChildSlot { Crossover: true } => "crossover",
                ChildSlot c => c.Operator,
                _ => "unknown",
            },
            Scores = new double?[settings.Cases.Count],
        };
        if (plan is SeedSlot seed) genome.Prompt = settings.SeedPrompts[seed.SeedIndex];
        if (plan is SeedMutationSlot sm) genome.Parents = [$"g0s{sm.SeedIndex}"];
        return genome;
    }
}
