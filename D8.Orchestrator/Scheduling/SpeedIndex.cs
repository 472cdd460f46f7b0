using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The measured workers ordered by decode rate, per model a task can name (and one list for tasks that name none, each
/// worker at its default model): placement asks for the workers that may be faster than a given one and reads only
/// those, stopping at the first that cannot be (its output time alone is already longer), instead of the whole fleet.
/// Kept in step with <see cref="SpeedModel"/> by <see cref="Update"/> after every change of a worker's speeds.
/// </summary>
internal sealed class SpeedIndex
{
    private const string DefaultModel = "\u0000default";
    private readonly Dictionary<string, SortedSet<Entry>> _byModel = new(StringComparer.Ordinal);
    // Least time to first token ever indexed per model: a lower bound for every entry (it only ever goes down).
    private readonly Dictionary<string, double> _minTtft = new(StringComparer.Ordinal);
    private readonly Dictionary<WorkerRecord, List<(SortedSet<Entry> Set, Entry Entry)>> _entries = new(ReferenceEqualityComparer.Instance);
    private long _order;

    /// <summary>Re-reads a worker's speeds (after it was measured, bounded or forgotten).</summary>
    public void Update(WorkerRecord worker, SpeedModel speeds)
    {
        Remove(worker);
        if (speeds.Of(worker.Id, worker.Models[0]) is null)
        {
            return;
        }
        var list = new List<(SortedSet<Entry>, Entry)>(worker.Models.Count + 1);
        Add(DefaultModel, worker, speeds.Of(worker.Id, worker.Models[0])!, list);
        foreach (var model in worker.Models)
        {
            Add(model, worker, speeds.Of(worker.Id, model)!, list);
        }
        _entries[worker] = list;
    }

    public void Remove(WorkerRecord worker)
    {
        if (_entries.Remove(worker, out var list))
        {
            foreach (var (set, entry) in list) set.Remove(entry);
        }
    }

    /// <summary>
    /// Measured workers whose speed runs a task of <paramref name="outputTokens"/> on <paramref name="model"/> (null:
    /// each at its default) in less than <paramref name="seconds"/>, fastest decode rate first; the caller checks
    /// whether each is taking work. Entries faster in decode rate but slower overall (a longer time to first token) are
    /// skipped without a lookup, and the walk ends at the first entry that cannot be faster.
    /// </summary>
    public IEnumerable<WorkerRecord> Faster(string? model, int outputTokens, double seconds)
    {
        if (!_byModel.TryGetValue(model ?? DefaultModel, out var set))
        {
            yield break;
        }
        var ttft = _minTtft[model ?? DefaultModel];
        foreach (var entry in set)
        {
            // No entry starts sooner than the least time to first token: at this rate it takes at least as long, and
            // every later entry is slower.
            if (ttft + outputTokens / entry.Speed.TokensPerSecond >= seconds) yield break;
            if (entry.Speed.SecondsFor(outputTokens) < seconds) yield return entry.Worker;
        }
    }

    private void Add(string model, WorkerRecord worker, SpeedModel.Speed speed, List<(SortedSet<Entry>, Entry)> list)
    {
        if (!_byModel.TryGetValue(model, out var set))
        {
            _byModel[model] = set = new SortedSet<Entry>(FastestFirst.Instance);
        }
        var entry = new Entry(worker, speed, _order++);
        _minTtft[model] = _minTtft.TryGetValue(model, out var least) ? Math.Min(least, speed.TimeToFirstTokenSeconds) : speed.TimeToFirstTokenSeconds;
        set.Add(entry);
        list.Add((set, entry));
    }

    /// <summary>A worker's speed on one model as it was when indexed (every change of it calls <see cref="Update"/>).</summary>
    private sealed record Entry(WorkerRecord Worker, SpeedModel.Speed Speed, long Order);

    private sealed class FastestFirst : IComparer<Entry>
    {
        public static readonly FastestFirst Instance = new();

        public int Compare(Entry? x, Entry? y)
        {
            var c = y!.Speed.TokensPerSecond.CompareTo(x!.Speed.TokensPerSecond);
            return c != 0 ? c : x.Order.CompareTo(y.Order);
        }
    }
}
