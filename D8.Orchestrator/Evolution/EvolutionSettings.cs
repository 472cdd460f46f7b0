using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>A validated spec with every default filled in: what the driver runs on.</summary>
public sealed record EvolutionSettings
{
    public const int DefaultPopulation = 8;
    public const int DefaultGenerations = 5;
    public const int DefaultElites = 1;
    public const int DefaultTournament = 3;
    public const double DefaultCrossoverRate = 0.5;
    public const double DefaultMutationRate = 0.2;
    public const int DefaultReflectionCases = 3;
    public const int DefaultReflectionMaxChars = 4000;
    public const string Tournament = "tournament";
    public const string Pareto = "pareto";
    public static readonly IReadOnlyList<string> SelectionNames = [Tournament, Pareto];

    public required long Seed { get; init; }
    public required IReadOnlyList<string> SeedPrompts { get; init; }
    public required int PopulationSize { get; init; }
    public required int Generations { get; init; }
    public required int EliteCount { get; init; }
    public required int TournamentSize { get; init; }
    public required double CrossoverRate { get; init; }
    public required double MutationRate { get; init; }
    public required IReadOnlyList<string> MutationOperators { get; init; }
    /// <summary>tournament or pareto.</summary>
    public required string Selection { get; init; }
    public required int ReflectionCases { get; init; }
    public required int ReflectionMaxChars { get; init; }
    /// <summary>0 = off.</summary>
    public int MinibatchSize { get; init; }
    /// <summary>The spec's cache key: null = only deterministic settings.</summary>
    public bool? Cache { get; init; }
    public required EvolutionTarget Operators { get; init; }
    public required EvolutionTarget Evaluation { get; init; }
    public required EvolutionTarget Judge { get; init; }
    public required IReadOnlyList<EvolutionCase> Cases { get; init; }
    public IReadOnlyList<EvolutionCase> ValidationCases { get; init; } = [];
    public long? MaxTasks { get; init; }
    public long? MaxTokens { get; init; }
    public TimeSpan? MaxWall { get; init; }

    /// <summary>Fills the defaults of a spec that <see cref="EvolutionSpecValidator"/> accepted.</summary>
    public static EvolutionSettings From(EvolutionSpec spec) => new()
    {
        Seed = spec.Seed ?? 0,
        SeedPrompts = spec.SeedPrompts!,
        PopulationSize = spec.PopulationSize ?? DefaultPopulation,
        Generations = spec.Generations ?? DefaultGenerations,
        EliteCount = spec.EliteCount ?? Math.Min(DefaultElites, (spec.PopulationSize ?? DefaultPopulation) - 1),
        TournamentSize = spec.TournamentSize ?? Math.Min(DefaultTournament, spec.PopulationSize ?? DefaultPopulation),
        CrossoverRate = spec.CrossoverRate ?? DefaultCrossoverRate,
        MutationRate = spec.MutationRate ?? DefaultMutationRate,
        MutationOperators = spec.MutationOperators is { Count: > 0 } ops ? ops : MutationOperatorNames.All,
        Selection = spec.Selection ?? Tournament,
        ReflectionCases = spec.ReflectionCases ?? DefaultReflectionCases,
        ReflectionMaxChars = spec.ReflectionMaxChars ?? DefaultReflectionMaxChars,
        MinibatchSize = spec.MinibatchSize ?? 0,
        Cache = spec.Cache,
        Operators = spec.Operators ?? new EvolutionTarget(),
        Evaluation = spec.Evaluation ?? new EvolutionTarget(),
        Judge = spec.Judge ?? spec.Evaluation ?? new EvolutionTarget(),
        Cases = spec.Cases!,
        ValidationCases = spec.ValidationCases ?? [],
        MaxTasks = spec.Budget?.MaxTasks,
        MaxTokens = spec.Budget?.MaxTokens,
        MaxWall = spec.Budget?.MaxWallSeconds is { } s ? TimeSpan.FromSeconds(s) : null,
    };

    public bool IsPareto => Selection == Pareto;

    /// <summary>Weight of each case (default 1).</summary>
    public double WeightOf(int caseIndex) => Cases[caseIndex].Weight ?? 1;
}

/// <summary>The mutation operators and the instruction each gives the model.</summary>
public static class MutationOperatorNames
{
    public const string ToneShift = "tone_shift";
    public const string Specialise = "specialise";
    public const string Shorten = "shorten";
    public const string AddConstraint = "add_constraint";
    public const string FreeRewrite = "free_rewrite";
    /// <summary>Reads the parent's weakest cases (input, answer, verdict, expected value) and fixes the prompt for them.</summary>
    public const string Reflect = "reflect";

    public static readonly IReadOnlyList<string> All = [ToneShift, Specialise, Shorten, AddConstraint, FreeRewrite, Reflect];

    public static string Instruction(string op) => op switch
    {
        ToneShift => "change its tone (more formal, warmer or more direct) without changing what it asks for",
        Specialise => "make it more specific to the kind of questions it will be asked",
        Shorten => "shorten it: drop its least useful sentence and keep the meaning",
        AddConstraint => "add one concrete constraint on how answers should be written",
        Reflect => "fix the failures shown without breaking the cases it passes",
        _ => "rewrite it freely, keeping its intent",
    };
}
