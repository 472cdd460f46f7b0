using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>A genome as the driver holds it (and stores it, as JSON, in evolution_genomes).</summary>
public sealed class Genome
{
    public required string Id { get; init; }
    public int Generation { get; init; }
    public int Slot { get; init; }
    public string? Prompt { get; set; }
    public List<string> Parents { get; set; } = [];
    public required string Operator { get; set; }
    public bool Fallback { get; set; }
    /// <summary>Operator attempts used (a reply that is not usable JSON is asked for once more).</summary>
    public int OperatorAttempts { get; set; }
    public required double?[] Scores { get; set; }
    /// <summary>Why a case scored 0 without a checker verdict (task failed, judge reply unusable), by case index.</summary>
    public Dictionary<int, string>? Notes { get; set; }
    /// <summary>The evaluated answer per case, trimmed (what a reflect operator is shown).</summary>
    public Dictionary<int, string>? Answers { get; set; }
    /// <summary>The judge's reason per judge case.</summary>
    public Dictionary<int, string>? Reasons { get; set; }
    /// <summary>A reflect child: the parent's cases its operator task was shown.</summary>
    public List<int>? Reflected { get; set; }
    /// <summary>Minibatch gate: null while open (or when there is none), true passed, false stopped there.</summary>
    public bool? MinibatchPassed { get; set; }
    /// <summary>The child's weighted mean on its generation's minibatch.</summary>
    public double? MinibatchScore { get; set; }
    /// <summary>A child stopped at the minibatch: its own prompt (the genome now holds its parent's).</summary>
    public string? RejectedPrompt { get; set; }
    /// <summary>Scores on the validation cases (only a generation's best is validated), else null.</summary>
    public double?[]? ValidationScores { get; set; }
    /// <summary>Tasks the run had issued when this genome's fitness became known.</summary>
    public long? TasksAtFitness { get; set; }

    public bool Complete => Prompt is not null && Scores.All(s => s.HasValue);

    /// <summary>Takes another genome's scores and the feedback behind them (a twin or an elite: the same prompt).</summary>
    public void CopyScoresFrom(Genome other)
    {
        Scores = [.. other.Scores];
        Notes = other.Notes is null ? null : new(other.Notes);
        Answers = other.Answers is null ? null : new(other.Answers);
        Reasons = other.Reasons is null ? null : new(other.Reasons);
    }

    /// <summary>Weighted mean of the scores once all are known.</summary>
    public double? Fitness(EvolutionSettings s) => Complete ? Bounds(s).Lower : null;

    /// <summary>
    /// The lowest and highest fitness this genome can still end with: unknown cases count 0 for the lower bound and
    /// 1 for the upper. Equal once every case is scored.
    /// </summary>
    public (double Lower, double Upper) Bounds(EvolutionSettings s)
    {
        double known = 0, unknown = 0, total = 0;
        for (var i = 0; i < Scores.Length; i++)
        {
            var w = s.WeightOf(i);
            total += w;
            if (Scores[i] is { } v) known += w * v;
            else unknown += w;
        }
        return (known / total, (known + unknown) / total);
    }

    /// <summary>Weighted mean of the validation scores once all are known, else null.</summary>
    public double? ValidationFitness(EvolutionSettings s)
    {
        if (ValidationScores is not { } v || v.Any(x => x is null)) return null;
        double sum = 0, total = 0;
        for (var i = 0; i < v.Length; i++)
        {
            var w = s.ValidationCases[i].Weight ?? 1;
            sum += w * v[i]!.Value;
            total += w;
        }
        return sum / total;
    }

    /// <summary>The genome as clients see it; <paramref name="validation"/> is its prompt's validation fitness when known.</summary>
    public GenomeView View(EvolutionSettings s, double? validation = null) => new()
    {
        Id = Id,
        Generation = Generation,
        Slot = Slot,
        Prompt = Prompt,
        Parents = [.. Parents],
        Operator = Operator,
        Fallback = Fallback,
        Fitness = Fitness(s),
        Scores = [.. Scores],
        ReflectedCases = Reflected is { } r ? [.. r] : null,
        StoppedAtMinibatch = MinibatchPassed == false,
        MinibatchScore = MinibatchScore,
        RejectedPrompt = RejectedPrompt,
        TasksAtFitness = Complete ? TasksAtFitness : null,
        ValidationFitness = validation ?? ValidationFitness(s),
    };
}
