using D8.Contracts;

namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun : IRunReader
{
    public EvolutionView View(bool withSpec = true)
    {
        List<(string Kind, string? Provider, string? Model, int Tasks)> waiting;
        EvolutionView view;
        lock (_gate)
        {
            view = RunViews.View(Record, Settings, _generations, TasksSubmitted, _pending.Count, null, withSpec);
            waiting = [.. _pending.Values.GroupBy(p => (p.Request.Kind ?? EvolutionTaskKinds.Chat, p.Request.Provider, p.Request.Model))
                .Select(g => (g.Key.Item1, g.Key.Provider, g.Key.Model, g.Count()))];
        }
        // Asked outside the run's lock: the engine's own routability flag, as a queued task's view shows it.
        var unroutable = RunViews.Unroutable(_engine, waiting);
        return unroutable is null ? view : view with { Unroutable = unroutable };
    }

    /// <summary>Every task the run has issued; frozen (and stored on the run's row) once the run ends.</summary>
    private long TasksSubmitted => Record.TasksSubmitted ?? TasksIssued;

    /// <summary>Tasks issued so far (recorded ids and submits under way).</summary>
    private long TasksIssued => _taskIds.Count + _unrecorded;

    /// <summary>The best scored genome so far (ties: the earliest), or null before any is complete.</summary>
    public GenomeView? Best()
    {
        lock (_gate) return RunViews.Best(Settings, _generations);
    }

    public BestPick BestWithin(long maxTokens)
    {
        lock (_gate) return RunViews.BestWithin(Settings, _generations, maxTokens);
    }

    public LineageView Lineage()
    {
        lock (_gate) return RunViews.Lineage(Record, Settings, _generations);
    }

    private GenerationSummary Summary(int g) => RunViews.Summary(Settings, _generations, g);
}
