using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>What the API reads of a run, live or stored.</summary>
public interface IRunReader
{
    EvolutionView View(bool withSpec = true);
    GenomeView? Best();
    /// <summary>The best genome on the front whose tokens per evaluation are at most <paramref name="maxTokens"/>.</summary>
    BestPick BestWithin(long maxTokens);
    LineageView Lineage();
}

/// <summary>
/// A run that is not live (finished, or not yet picked up), read back from the <see cref="EvolutionStore"/> for one
/// answer and then dropped: the service keeps only running runs in memory.
/// </summary>
internal sealed class StoredRun : IRunReader
{
    private readonly RunRecord _record;
    private readonly EvolutionSettings _settings;
    private readonly List<Genome[]> _generations;
    private readonly long _tasksSubmitted;

    private StoredRun(RunRecord record, EvolutionStore store)
    {
        _record = record;
        _settings = EvolutionSettings.From(record.Spec);
        _generations = RunViews.Arrange(_settings, store.LoadGenomes(record.Id));
        // Runs that ended before the count was kept on the row: the recorded task ids.
        _tasksSubmitted = record.TasksSubmitted ?? store.CountTasks(record.Id);
    }

    /// <summary>The run as stored, or null when there is no such run (or retention is deleting it).</summary>
    public static StoredRun? Load(EvolutionStore store, string id) =>
        store.LoadRun(id) is { } record ? new StoredRun(record, store) : null;

    public static StoredRun Of(RunRecord record, EvolutionStore store) => new(record, store);

    public EvolutionView View(bool withSpec = true) =>
        RunViews.View(_record, _settings, _generations, _tasksSubmitted, 0, null, withSpec);

    public GenomeView? Best() => RunViews.Best(_settings, _generations);

    public BestPick BestWithin(long maxTokens) => RunViews.BestWithin(_settings, _generations, maxTokens);

    public LineageView Lineage() => RunViews.Lineage(_record, _settings, _generations);
}
