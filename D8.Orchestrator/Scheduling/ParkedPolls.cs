namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The parked lease polls, grouped by what their workers can serve (provider, models, task kinds): placing a task looks
/// only at the groups that can run it, and within a group at the first polls in order — unmeasured workers first (in
/// parking order, that is how they get measured), then measured ones fastest first (ties in parking order). Parking,
/// taking out and finding the best poll cost O(log n) in the number of parked polls, never a scan of all of them.
/// <para>A poll whose worker cannot take a lease (cooling down after a 429, out of budget, unhealthy, draining, every
/// slot busy) is parked <em>aside</em>: counted and woken through its worker like any other, but in no group, so a
/// fleet of blocked workers costs placement nothing. One found blocked in a group (its worker was blocked after it
/// parked) is set aside by <see cref="First{TState}"/> and woken, so it parks again with its wait cut to the end of the block
/// (docs/fleet-scale.md).</para>
/// </summary>
internal sealed class ParkedPolls(ChangeSet changes)
{
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);

    private long _nextSeq;

    /// <summary>Parked polls.</summary>
    public int Count { get; private set; }

    /// <summary>Parking order of the next poll (ties between equally fast polls go to the one that parked first).</summary>
    public long NextSeq() => _nextSeq++;

    /// <summary>Parked polls in groups (placement reads these) and aside (their workers cannot take a lease), for tests.</summary>
    public (int InGroups, int Aside) Split()
    {
        var inGroups = _groups.Values.Sum(g => g.Unmeasured.Count + g.Measured.Count);
        return (inGroups, Count - inGroups);
    }

    /// <summary>The groups (few: one per kind of worker in the fleet).</summary>
    public IEnumerable<Group> Groups => _groups.Values;

    /// <summary>Parks a poll: in its group, or aside when its worker cannot take a lease now (<paramref name="canLease"/>).</summary>
    public void Park(LeaseWaiter waiter, double? speedKey, bool canLease)
    {
        waiter.SpeedKey = speedKey;
        waiter.IsParked = true;
        waiter.Worker.Parked.Add(waiter);
        Count++;
        if (canLease)
        {
            Index(waiter);
        }
    }

    /// <summary>Takes a poll out (it was served, its wait ended or its caller left); false if it was not parked.</summary>
    public bool Remove(LeaseWaiter waiter)
    {
        if (!waiter.IsParked)
        {
            return false;
        }
        Unindex(waiter);
        waiter.IsParked = false;
        waiter.Worker.Parked.Remove(waiter);
        Count--;
        return true;
    }

    /// <summary>
    /// The first poll of <paramref name="group"/>, in order, with a free lease whose worker can take a lease now and that
    /// <paramref name="accept"/> takes; null if none. Polls found blocked on the way (their worker was blocked after they
    /// parked) are set aside and woken: each looks again and parks aside with its wait cut to the end of its worker's
    /// cooldown or budget wait, so no placement reads it twice. May empty the group (removing it from
    /// <see cref="Groups"/>, which a caller enumerating the groups may do: removal leaves a dictionary's enumeration valid).
    /// </summary>
    public LeaseWaiter? First<TState>(Group group, DateTimeOffset now, TState state, Func<LeaseWaiter, TState, bool> accept)
    {
        List<LeaseWaiter>? blocked = null;
        LeaseWaiter? found = null;
        foreach (var waiter in group.InOrder())
        {
            if (!LeaseBook.CanLease(waiter.Worker, now))
            {
                (blocked ??= []).Add(waiter);
            }
            else if (waiter.Leases.Count < waiter.Max && accept(waiter, state))
            {
                found = waiter;
                break;
            }
        }
        foreach (var waiter in blocked ?? [])
        {
            Unindex(waiter);
            changes.Wake(waiter);
        }
        return found;
    }

    private void Index(LeaseWaiter waiter)
    {
        var w = waiter.Worker;
        var key = string.Join('\u001f', w.Provider, string.Join('\u001e', w.Models), string.Join('\u001e', w.TaskKinds));
        if (!_groups.TryGetValue(key, out var group))
        {
            _groups[key] = group = new Group(key, w);
        }
        waiter.Group = group;
        if (waiter.SpeedKey is null)
        {
            waiter.Node = group.Unmeasured.AddLast(waiter);
        }
        else
        {
            group.Measured.Add(waiter);
        }
    }

    private void Unindex(LeaseWaiter waiter)
    {
        if (waiter.Group is not { } group)
        {
            return;
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
        if (group.Unmeasured.Count == 0 && group.Measured.Count == 0)
        {
            _groups.Remove(group.Key);
        }
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
