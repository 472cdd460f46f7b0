namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The parked lease polls, grouped by what their workers can serve (provider, models, task kinds): placing a task looks
/// only at the groups that can run it, and within a group at the first polls in order — unmeasured workers first (in
/// parking order, that is how they get measured), then measured ones fastest first (ties in parking order). Parking,
/// taking out and finding the best poll cost O(log n) in the number of parked polls, never a scan of all of them.
/// </summary>
internal sealed class ParkedPolls
{
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);

    private long _nextSeq;

    /// <summary>Parked polls.</summary>
    public int Count { get; private set; }

    /// <summary>Parking order of the next poll (ties between equally fast polls go to the one that parked first).</summary>
    public long NextSeq() => _nextSeq++;

    /// <summary>The groups (few: one per kind of worker in the fleet).</summary>
    public IEnumerable<Group> Groups => _groups.Values;

    public void Park(LeaseWaiter waiter, double? speedKey)
    {
        var w = waiter.Worker;
        var key = string.Join('\u001f', w.Provider, string.Join('\u001e', w.Models), string.Join('\u001e', w.TaskKinds));
        if (!_groups.TryGetValue(key, out var group))
        {
            _groups[key] = group = new Group(key, w);
        }
        waiter.Group = group;
        waiter.SpeedKey = speedKey;
        if (speedKey is null)
        {
            waiter.Node = group.Unmeasured.AddLast(waiter);
        }
        else
        {
            group.Measured.Add(waiter);
        }
        w.Parked.Add(waiter);
        Count++;
    }

    /// <summary>Takes a poll out (it was served, its wait ended or its caller left); false if it was not parked.</summary>
    public bool Remove(LeaseWaiter waiter)
    {
        if (waiter.Group is not { } group)
        {
            return false;
        }
        if (waiter.Node is { } node)
        {
            group.Unmeasured.Remove(node);
            waiter.Node = null;
        }
        else
        {
            group.Measured.Remove(waiter);
        }
        waiter.Group = null;
        waiter.Worker.Parked.Remove(waiter);
        Count--;
        if (group.Unmeasured.Count == 0 && group.Measured.Count == 0)
        {
            _groups.Remove(group.Key);
        }
        return true;
    }

    /// <summary>Parked polls of workers of one kind.</summary>
    internal sealed class Group(string key, WorkerRecord sample)
    {
        public string Key { get; } = key;
        /// <summary>A worker of the group: what it can serve, they all can.</summary>
        public WorkerRecord Sample { get; } = sample;
        public LinkedList<LeaseWaiter> Unmeasured { get; } = new();
        public SortedSet<LeaseWaiter> Measured { get; } = new(FastestFirst.Instance);

        /// <summary>Unmeasured polls in parking order, then measured ones fastest first.</summary>
        public IEnumerable<LeaseWaiter> InOrder()
        {
            foreach (var w in Unmeasured) yield return w;
            foreach (var w in Measured) yield return w;
        }
    }

    private sealed class FastestFirst : IComparer<LeaseWaiter>
    {
        public static readonly FastestFirst Instance = new();

        public int Compare(LeaseWaiter? x, LeaseWaiter? y)
        {
            if (ReferenceEquals(x, y)) return 0;
            var c = x!.SpeedKey!.Value.CompareTo(y!.SpeedKey!.Value);
            return c != 0 ? c : x.Seq.CompareTo(y.Seq);
        }
    }
}
