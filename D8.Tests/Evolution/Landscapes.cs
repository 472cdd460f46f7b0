using D8.Contracts;

namespace D8.Tests.Evolution;

/// <summary>
/// Fitness landscapes on the emulators for comparing the blind GA with reflective + Pareto evolution (tests and the
/// <c>evolve --compare</c> benchmark). Each case wants one target word in the answer; the emulator's answer echoes
/// the system prompt, its mutations add a random vocabulary word, and its reflections add the expected texts their
/// feedback shows. <see cref="Visible"/>: contains checkers, so a reflection is shown <c>expected: "word"</c> and can
/// fix the prompt. <see cref="Hidden"/>: judge checkers with the word as rubric, whose reason ("0 rubric words
/// present") never names it, so a reflection learns nothing a blind mutation would not. Evaluations are cached
/// (<c>cache: true</c>: the emulators are deterministic), so a run reuses what an earlier run on the same fleet scored.
/// </summary>
public static class Landscapes
{
    /// <summary>Eight of the emulator's twelve vocabulary words: a blind mutation hits a missing one by chance.</summary>
    public static readonly string[] Targets = ["precise", "friendly", "concise", "formal", "careful", "honest", "polite", "clear"];

    public static EvolutionSpec Visible(long seed, int generations, long maxTasks) => Base("visible", seed, generations, maxTasks) with
    {
        Cases = [.. Targets.Select((w, i) => new EvolutionCase
        {
            Name = w,
            Input = $"Question {i}.",
            Checker = new EvolutionChecker { Type = "contains", Expected = EvolutionSpecs.Json("\"" + w + "\"") },
        })],
    };

    public static EvolutionSpec Hidden(long seed, int generations, long maxTasks) => Base("hidden", seed, generations, maxTasks) with
    {
        Cases = [.. Targets.Select((w, i) => new EvolutionCase
        {
            Name = $"case {i}",
            Input = $"Question {i}.",
            Checker = new EvolutionChecker { Type = "judge", Rubric = w },
        })],
    };

    /// <summary>Today's blind GA: tournaments, the five rewriting operators, crossover.</summary>
    public static EvolutionSpec Ga(EvolutionSpec spec) => spec with
    {
        Name = spec.Name + "-ga",
        Selection = "tournament",
        MutationOperators = ["tone_shift", "specialise", "shorten", "add_constraint", "free_rewrite"],
        CrossoverRate = 0.6,
        MutationRate = 0.3,
    };

    /// <summary>GEPA-style: reflective mutation, parents from the per-case Pareto front, merges of front members, minibatch first.</summary>
    public static EvolutionSpec Reflective(EvolutionSpec spec) => spec with
    {
        Name = spec.Name + "-reflective",
        Selection = "pareto",
        MutationOperators = ["reflect"],
        CrossoverRate = 0.3,
        MinibatchSize = 3,
    };

    private static EvolutionSpec Base(string name, long seed, int generations, long maxTasks) => new()
    {
        Name = name,
        Seed = seed,
        SeedPrompts = ["You are a helpful assistant."],
        PopulationSize = 8,
        Generations = generations,
        EliteCount = 2,
        TournamentSize = 3,
        Operators = new EvolutionTarget { Provider = "ollama" },
        Evaluation = new EvolutionTarget { Provider = "groq" },
        Budget = new EvolutionBudget { MaxTasks = maxTasks },
        Cache = true,
    };

    /// <summary>The fewest tasks after which the run had a genome of at least <paramref name="fitness"/>; null if it never had.</summary>
    public static long? TasksToReach(LineageView lineage, double fitness) =>
        lineage.Genomes.Where(g => g.Fitness >= fitness - 1e-9 && g.TasksAtFitness is not null).Select(g => g.TasksAtFitness).Min();
}
