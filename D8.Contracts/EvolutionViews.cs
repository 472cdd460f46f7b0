using System.Text.Json.Serialization;

namespace D8.Contracts;

/// <summary>Where an evolution run is.</summary>
public enum EvolutionState
{
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("stopped")] Stopped,
    [JsonStringEnumMemberName("failed")] Failed,
}

/// <summary>202 answer to an evolution submit.</summary>
public sealed record SubmitEvolutionResponse(string Id, EvolutionState State, string Location);

/// <summary>One genome: a system prompt, where it came from, and its fitness once every case is scored.</summary>
public sealed record GenomeView
{
    public required string Id { get; init; }
    public int Generation { get; init; }
    public int Slot { get; init; }
    /// <summary>Null until its operator task has answered.</summary>
    public string? Prompt { get; init; }
    public IReadOnlyList<string> Parents { get; init; } = [];
    /// <summary>seed, elite, crossover, crossover+OP, or a mutation operator name.</summary>
    public required string Operator { get; init; }
    /// <summary>The operator's reply was unusable twice, so the child is a copy of its first parent.</summary>
    public bool Fallback { get; init; }
    /// <summary>Weighted mean of the case scores (0 to 1); null until every case is scored.</summary>
    public double? Fitness { get; init; }
    /// <summary>Score per case (0 to 1), null where not scored yet.</summary>
    public IReadOnlyList<double?> Scores { get; init; } = [];
    /// <summary>A reflect child: the parent's cases (indexes) its operator task was shown.</summary>
    public IReadOnlyList<int>? ReflectedCases { get; init; }
    /// <summary>The child lost to its parent on the minibatch: it holds the parent's prompt and scores now.</summary>
    public bool StoppedAtMinibatch { get; init; }
    /// <summary>The child's own score on its generation's minibatch (with minibatch_size on).</summary>
    public double? MinibatchScore { get; init; }
    /// <summary>The prompt of a child stopped at the minibatch.</summary>
    public string? RejectedPrompt { get; init; }
    /// <summary>Fitness on the held-out validation cases (a generation's best, or the same prompt), else null.</summary>
    public double? ValidationFitness { get; init; }
    /// <summary>Tasks the run had issued when this genome's fitness became known (null until then).</summary>
    public long? TasksAtFitness { get; init; }
}

/// <summary>Fitness figures of one generation.</summary>
public sealed record GenerationSummary
{
    public int Generation { get; init; }
    /// <summary>Every genome of the generation has its fitness.</summary>
    public bool Complete { get; init; }
    public int Evaluated { get; init; }
    public double? Best { get; init; }
    public double? Mean { get; init; }
    /// <summary>Mean pairwise Jaccard distance of the prompts' word sets (0: all alike, 1: nothing shared).</summary>
    public double? Diversity { get; init; }
    public string? BestGenomeId { get; init; }
    /// <summary>The best genome's fitness on the validation cases, once scored (train is <see cref="Best"/>).</summary>
    public double? BestValidation { get; init; }
}

/// <summary>A run as clients see it.</summary>
public sealed record EvolutionView
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    public required EvolutionState State { get; init; }
    public string? StopReason { get; init; }
    /// <summary>Highest generation started.</summary>
    public int Generation { get; init; }
    public int Generations { get; init; }
    public long TasksSubmitted { get; init; }
    public int TasksInFlight { get; init; }
    public long TokensUsed { get; init; }
    /// <summary>tournament or pareto.</summary>
    public string Selection { get; init; } = "tournament";
    /// <summary>With pareto selection: genomes on the per-case front of the newest fully scored pool; else null.</summary>
    public int? FrontSize { get; init; }
    /// <summary>Evaluations answered from the evaluation cache instead of a task (see D8_EVAL_CACHE_DAYS).</summary>
    public long CacheHits { get; init; }
    /// <summary>Children stopped at the minibatch (each saved the evaluation of the other cases).</summary>
    public int MinibatchRejections { get; init; }
    public EvolutionBudget? Budget { get; init; }
    public GenomeView? Best { get; init; }
    public IReadOnlyList<GenerationSummary> History { get; init; } = [];
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    /// <summary>
    /// Tasks in flight that no registered worker can serve (kind/provider/model unroutable), grouped by requirement;
    /// null when every task in flight has a worker that could take it. Such a run waits until a fitting worker
    /// registers or a budget ends it.
    /// </summary>
    public IReadOnlyList<EvolutionWaiting>? Unroutable { get; init; }
    public EvolutionSpec? Spec { get; init; }
}

/// <summary>A run's tasks in flight of one routing requirement that no registered worker serves.</summary>
public sealed record EvolutionWaiting
{
    /// <summary>The task kind, e.g. evolve.mutate.</summary>
    public required string Kind { get; init; }
    public string? Provider { get; init; }
    public string? Model { get; init; }
    /// <summary>How many of the run's tasks in flight need this requirement.</summary>
    public int Tasks { get; init; }
    /// <summary>The engine's reason, as a task view gives it ("no registered worker serves kind …").</summary>
    public required string Reason { get; init; }
}

/// <summary>Every genome of a run, parents first: the lineage export.</summary>
public sealed record LineageView(string RunId, EvolutionState State, IReadOnlyList<GenomeView> Genomes, IReadOnlyList<GenerationSummary> History);

/// <summary>The wire spelling of <see cref="EvolutionState"/>.</summary>
public static class EvolutionStateNames
{
    public static string Of(EvolutionState state) => state switch
    {
        EvolutionState.Running => "running",
        EvolutionState.Completed => "completed",
        EvolutionState.Stopped => "stopped",
        _ => "failed",
    };
}
