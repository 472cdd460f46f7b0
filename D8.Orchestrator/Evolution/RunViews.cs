using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Evolution;

/// <summary>The pick of <c>best?max_tokens=N</c>: the best genome that fits (null if none) and the front's cheapest.</summary>
public sealed record BestPick(GenomeView? Best, GenomeView? Cheapest);

/// <summary>
/// A run's API answers (status, best, lineage) computed from its record and genomes, so a live run
/// (<see cref="EvolutionRun"/>) and a finished one read back from the store (<see cref="StoredRun"/>) answer alike.
/// </summary>
internal static class RunViews
{
    /// <summary>Genomes laid out per generation and slot, as the driver holds them.</summary>
    public static List<Genome[]> Arrange(EvolutionSettings settings, IEnumerable<Genome> genomes)
    {
        var generations = new List<Genome[]>(settings.Generations);
        for (var g = 0; g < settings.Generations; g++) generations.Add(new Genome[settings.PopulationSize]);
        foreach (var genome in genomes) generations[genome.Generation][genome.Slot] = genome;
        return generations;
    }

    public static EvolutionView View(RunRecord record, EvolutionSettings settings, List<Genome[]> generations,
        long tasksSubmitted, int tasksInFlight, IReadOnlyList<EvolutionWaiting>? unroutable, bool withSpec)
    {
        var history = Enumerable.Range(0, generations.Count).Select(g => Summary(settings, generations, g))
            .Where(s => s.Evaluated > 0 || s.Generation == 0).ToList();
        return new EvolutionView
        {
            Id = record.Id,
            Name = record.Spec.Name,
            State = record.State,
            StopReason = record.StopReason,
            Generation = generations.FindLastIndex(g => g.Any(x => x.Prompt is not null && (x.Generation == 0 || x.Operator != "elite"))) is var last and >= 0 ? last : 0,
            Generations = settings.Generations,
            TasksSubmitted = tasksSubmitted,
            TasksInFlight = tasksInFlight,
            TokensUsed = record.TokensUsed,
            Selection = settings.Selection,
            CacheHits = record.CacheHits,
            MinibatchRejections = generations.Sum(g => g.Count(x => x is { MinibatchPassed: false })),
            FrontSize = settings.IsPareto || settings.WeighsTokens ? FrontOf(settings, generations).Members.Count : null,
            Budget = record.Spec.Budget,
            Best = Best(settings, generations),
            History = history,
            CreatedAt = record.CreatedAt,
            UpdatedAt = record.UpdatedAt,
            FinishedAt = record.FinishedAt,
            Unroutable = unroutable is { Count: > 0 } ? unroutable : null,
            Spec = withSpec ? record.Spec : null,
        };
    }

    /// <summary>The tasks a run waits on, by (kind, provider, model), that the engine cannot route now, with its reason; null when none.</summary>
    public static List<EvolutionWaiting>? Unroutable(SchedulingEngine engine, IEnumerable<(string Kind, string? Provider, string? Model, int Tasks)> waiting)
    {
        List<EvolutionWaiting>? unroutable = null;
        foreach (var (kind, provider, model, tasks) in waiting.OrderBy(w => w.Kind, StringComparer.Ordinal))
        {
            if (engine.UnroutableReason(kind, provider, model) is { } reason)
            {
                (unroutable ??= []).Add(new EvolutionWaiting { Kind = kind, Provider = provider, Model = model, Tasks = tasks, Reason = reason });
            }
        }
        return unroutable;
    }

    /// <summary>The per-case front of every fully scored genome of the run (one per distinct prompt).</summary>
    public static ParetoFront FrontOf(EvolutionSettings settings, List<Genome[]> generations) =>
        FrontOf(settings, Pool(generations));

    /// <summary>The front of a pool of fully scored genomes: per-case scores, plus tokens when they are an objective.</summary>
    public static ParetoFront FrontOf(EvolutionSettings settings, IReadOnlyList<Genome> pool, bool withTokens = false) =>
        ParetoFront.Of([.. pool.Select(x => (IReadOnlyList<double>)[.. x.Scores.Select(v => v!.Value)])],
            withTokens || settings.WeighsTokens ? [.. pool.Select(x => x.TokensPerEvaluation ?? 0)] : null);

    private static List<Genome> Pool(List<Genome[]> generations) =>
        Breeder.Distinct(generations.SelectMany(g => g).Where(g => g is not null));

    /// <summary>
    /// The best genome on the two-dimensional front (scores and tokens) whose tokens per evaluation are at most
    /// <paramref name="maxTokens"/> (ties: fewer tokens, then the earliest), and the cheapest member (for the answer
    /// when none fits); both null before any genome is fully scored.
    /// </summary>
    public static BestPick BestWithin(EvolutionSettings settings, List<Genome[]> generations, long maxTokens)
    {
        var pool = Pool(generations);
        var members = FrontOf(settings, pool, withTokens: true).Members.Select(m => pool[m.Index]).ToList();
        var cheapest = members.OrderBy(g => g.TokensPerEvaluation).ThenBy(g => g.Generation).ThenBy(g => g.Slot).FirstOrDefault();
        var best = members.Where(g => g.TokensPerEvaluation <= maxTokens)
            .OrderByDescending(g => g.Fitness(settings)).ThenBy(g => g.TokensPerEvaluation).ThenBy(g => g.Generation).ThenBy(g => g.Slot)
            .FirstOrDefault();
        return new BestPick(View(best), View(cheapest));
        GenomeView? View(Genome? g) => g?.View(settings, ValidationOf(settings, generations, g));
    }

    public static GenomeView? Best(EvolutionSettings settings, List<Genome[]> generations) =>
        BestGenome(settings, generations) is { } best ? best.View(settings, ValidationOf(settings, generations, best)) : null;

    /// <summary>The validation fitness of a genome's prompt (validated on this genome or another with the same prompt).</summary>
    private static double? ValidationOf(EvolutionSettings settings, List<Genome[]> generations, Genome genome) =>
        settings.ValidationCases.Count == 0 || genome.Prompt is null ? null
        : generations.SelectMany(g => g).Where(x => x.ValidationScores is not null && x.Prompt == genome.Prompt)
            .Select(x => x.ValidationFitness(settings)).FirstOrDefault(v => v is not null);

    public static LineageView Lineage(RunRecord record, EvolutionSettings settings, List<Genome[]> generations)
    {
        var genomes = generations.SelectMany(g => g).Where(g => g.Prompt is not null || g.Parents.Count > 0).Select(g => g.View(settings, ValidationOf(settings, generations, g))).ToList();
        return new LineageView(record.Id, record.State, genomes, [.. Enumerable.Range(0, generations.Count).Select(g => Summary(settings, generations, g))]);
    }

    /// <summary>
    /// The best scored genome so far (ties: the earliest; with tokens as an objective, the cheapest first), or null
    /// before any is complete.
    /// </summary>
    public static Genome? BestGenome(EvolutionSettings settings, List<Genome[]> generations) =>
        generations.SelectMany(g => g).Where(g => g.Complete)
            .OrderByDescending(g => g.Fitness(settings)).ThenBy(g => TieTokens(settings, g)).ThenBy(g => g.Generation).ThenBy(g => g.Slot).FirstOrDefault();

    private static long TieTokens(EvolutionSettings settings, Genome g) => settings.WeighsTokens ? g.TokensPerEvaluation ?? 0 : 0;

    public static GenerationSummary Summary(EvolutionSettings settings, List<Genome[]> generations, int g)
    {
        var genomes = generations[g];
        var scored = genomes.Where(x => x.Complete).ToList();
        var prompts = genomes.Where(x => x.Prompt is not null).Select(x => x.Prompt!).ToList();
        var best = scored.OrderByDescending(x => x.Fitness(settings)).ThenBy(x => TieTokens(settings, x)).ThenBy(x => x.Slot).FirstOrDefault();
        return new GenerationSummary
        {
            Generation = g,
            Complete = scored.Count == genomes.Length,
            Evaluated = scored.Count,
            Best = best?.Fitness(settings),
            Mean = scored.Count > 0 ? scored.Average(x => x.Fitness(settings)!.Value) : null,
            Diversity = prompts.Count > 1 ? Selection.Diversity(prompts) : null,
            BestGenomeId = best?.Id,
            BestValidation = best is null ? null : ValidationOf(settings, generations, best),
            BestTokensPerEvaluation = best?.TokensPerEvaluation,
        };
    }
}
