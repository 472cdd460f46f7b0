using System.Text.Json;
using System.Text.Json.Serialization;

namespace D8.Contracts;

/// <summary>
/// A prompt-evolution run as the user writes it (YAML or JSON, snake_case keys). Omitted numbers take the defaults
/// docs/evolution.md lists; the orchestrator validates everything and lists every problem. Unknown keys are refused
/// (<see cref="Unknown"/> collects them so they can be named).
/// </summary>
public sealed record EvolutionSpec
{
    public string? Name { get; init; }
    /// <summary>Seed of every random draw (selection, operators); same seed, same draws.</summary>
    public long? Seed { get; init; }
    /// <summary>Starting system prompts (at least one).</summary>
    public IReadOnlyList<string>? SeedPrompts { get; init; }
    public int? PopulationSize { get; init; }
    /// <summary>Generations in the run, the seed generation (0) included.</summary>
    public int? Generations { get; init; }
    public int? EliteCount { get; init; }
    public int? TournamentSize { get; init; }
    /// <summary>Chance that a child is a crossover of two tournament winners (else a mutation of one).</summary>
    public double? CrossoverRate { get; init; }
    /// <summary>Chance that a crossover child is also mutated (in the same operator task).</summary>
    public double? MutationRate { get; init; }
    /// <summary>tone_shift, specialise, shorten, add_constraint, free_rewrite, reflect (default: all).</summary>
    public IReadOnlyList<string>? MutationOperators { get; init; }
    /// <summary>How parents are chosen: tournament (default) or pareto (per-case front, merge crossover).</summary>
    public string? Selection { get; init; }
    /// <summary>How many of the parent's weakest cases a reflect operator is shown (default 3).</summary>
    public int? ReflectionCases { get; init; }
    /// <summary>Most characters of case feedback (inputs, answers, verdicts) in one reflect task (default 4000).</summary>
    public int? ReflectionMaxChars { get; init; }
    /// <summary>Who runs mutation and crossover tasks.</summary>
    public EvolutionTarget? Operators { get; init; }
    /// <summary>Who runs evaluation tasks.</summary>
    public EvolutionTarget? Evaluation { get; init; }
    /// <summary>Who runs LLM-judge tasks (default: the evaluation target).</summary>
    public EvolutionTarget? Judge { get; init; }
    public IReadOnlyList<EvolutionCase>? Cases { get; init; }
    /// <summary>Held-out cases scored only for each generation's best (train and validation fitness are reported).</summary>
    public IReadOnlyList<EvolutionCase>? ValidationCases { get; init; }
    public EvolutionBudget? Budget { get; init; }

    /// <summary>Cases a child is first scored on (0 = off); only a child that does not lose to its parent there is fully evaluated.</summary>
    public int? MinibatchSize { get; init; }
    /// <summary>Reuse evaluations from the evaluation cache: default only at temperature 0; true always; false never.</summary>
    public bool? Cache { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Where a kind of evolution task runs: provider and/or model (both optional), and sampling settings.</summary>
public sealed record EvolutionTarget
{
    public string? Provider { get; init; }
    public string? Model { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>One evaluation case: input (a user message) or messages, and how the answer is scored (0 to 1).</summary>
public sealed record EvolutionCase
{
    public string? Name { get; init; }
    public string? Input { get; init; }
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Ask the evaluated model for JSON (useful with json_schema checkers).</summary>
    public bool? JsonMode { get; init; }
    /// <summary>Weight of this case in the fitness (default 1).</summary>
    public double? Weight { get; init; }
    public EvolutionChecker? Checker { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>
/// How an answer is scored. type: exact | contains | regex | json_schema | numeric | judge.
/// exact/contains use <see cref="Expected"/> (text), regex <see cref="Pattern"/>, json_schema <see cref="Schema"/>,
/// numeric <see cref="Expected"/> (a number) and <see cref="Tolerance"/>, judge <see cref="Rubric"/> and the scale.
/// </summary>
public sealed record EvolutionChecker
{
    public string? Type { get; init; }
    public JsonElement? Expected { get; init; }
    public bool? IgnoreCase { get; init; }
    public string? Pattern { get; init; }
    public JsonElement? Schema { get; init; }
    public double? Tolerance { get; init; }
    public string? Rubric { get; init; }
    public int? ScaleMin { get; init; }
    public int? ScaleMax { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>When a run stops early: tasks submitted, tokens reported, wall time (any may be omitted).</summary>
public sealed record EvolutionBudget
{
    public long? MaxTasks { get; init; }
    public long? MaxTokens { get; init; }
    public double? MaxWallSeconds { get; init; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}
