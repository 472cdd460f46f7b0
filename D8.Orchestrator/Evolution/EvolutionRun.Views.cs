using D8.Contracts;

namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun
{
    public EvolutionView View(bool withSpec = true)
    {
        lock (_gate)
        {
            var history = Enumerable.Range(0, _generations.Count).Select(Summary).Where(s => s.Evaluated > 0 || s.Generation == 0).ToList();
            return new EvolutionView
            {
                Id = Id,
                Name = Record.Spec.Name,
                State = Record.State,
                StopReason = Record.StopReason,
                Generation = _generations.FindLastIndex(g => g.Any(x => x.Prompt is not null && (x.Generation == 0 || x.Operator != "elite"))) is var last and >= 0 ? last : 0,
                Generations = Settings.Generations,
                TasksSubmitted = _taskIds.Count + _unrecorded,
                TasksInFlight = _pending.Count,
                TokensUsed = Record.TokensUsed,
                Budget = Record.Spec.Budget,
                Best = BestGenome()?.View(Settings),
                History = history,
                CreatedAt = Record.CreatedAt,
                UpdatedAt = Record.UpdatedAt,
                FinishedAt = Record.FinishedAt,
                Spec = withSpec ? Record.Spec : null,
            };
        }
    }

    /// <summary>The best scored genome so far (ties: the earliest), or null before any is complete.</summary>
    public GenomeView? Best()
    {
        lock (_gate) return BestGenome()?.View(Settings);
    }

    public LineageView Lineage()
    {
        lock (_gate)
        {
            var genomes = _generations.SelectMany(g => g).Where(g => g.Prompt is not null || g.Parents.Count > 0).Select(g => g.View(Settings)).ToList();
            return new LineageView(Id, Record.State, genomes, [.. Enumerable.Range(0, _generations.Count).Select(Summary)]);
        }
    }

    private Genome? BestGenome() =>
        _generations.SelectMany(g => g).Where(g => g.Complete)
            .OrderByDescending(g => g.Fitness(Settings)).ThenBy(g => g.Generation).ThenBy(g => g.Slot).FirstOrDefault();

    private GenerationSummary Summary(int g)
    {
        var genomes = _generations[g];
        var scored = genomes.Where(x => x.Complete).ToList();
        var prompts = genomes.Where(x => x.Prompt is not null).Select(x => x.Prompt!).ToList();
        var best = scored.OrderByDescending(x => x.Fitness(Settings)).ThenBy(x => x.Slot).FirstOrDefault();
        return new GenerationSummary
        {
            Generation = g,
            Complete = scored.Count == genomes.Length,
            Evaluated = scored.Count,
            Best = best?.Fitness(Settings),
            Mean = scored.Count > 0 ? scored.Average(x => x.Fitness(Settings)!.Value) : null,
            Diversity = prompts.Count > 1 ? Selection.Diversity(prompts) : null,
            BestGenomeId = best?.Id,
        };
    }
}
