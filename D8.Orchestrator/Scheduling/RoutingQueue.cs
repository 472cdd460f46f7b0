namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Ready tasks sharing one routing requirement (kind, provider, model), highest priority first, then FIFO.
/// Keeping one queue per requirement means a worker only looks at the heads of the queues it can serve,
/// instead of scanning past tasks it cannot run.
/// </summary>
internal sealed class RoutingQueue(string kind, string? provider, string? model)
{
    private readonly SortedSet<TaskRecord> _ready = new(PriorityOrder.Instance);

    public string Kind { get; } = kind;
    public string? Provider { get; } = provider;
    public string? Model { get; } = model;

    /// <summary>Ready tasks, best first.</summary>
    public IReadOnlyCollection<TaskRecord> Ready => _ready;

    /// <summary>The best ready task, or null.</summary>
    public TaskRecord? Head => _ready.Count == 0 ? null : _ready.Min;

    /// <summary>Queued tasks of this requirement waiting out a backoff.</summary>
    public int Delayed { get; private set; }

    /// <summary>Live tasks (queued or leased) of this requirement; at zero the sweep drops the queue.</summary>
    public int LiveTasks { get; private set; }

    /// <summary>True while no registered (not gone) worker can serve this requirement.</summary>
    public bool Unroutable { get; set; }

    // The set and the counters change only through these, called by TaskQueues (which keeps the delayed set beside them).
    internal void AddReady(TaskRecord task) => _ready.Add(task);
    internal bool RemoveReady(TaskRecord task) => _ready.Remove(task);
    internal void Joined() => LiveTasks++;
    internal void Left() => LiveTasks--;
    internal void DelayedOne() => Delayed++;
    internal void UndelayedOne() => Delayed--;

    public static string KeyOf(string kind, string? provider, string? model) =>
        $"{kind}\u001f{provider?.ToLowerInvariant()}\u001f{model}";

    public string Describe() =>
        $"no registered worker serves kind '{Kind}'" +
        (Provider is null ? "" : $", provider '{Provider}'") +
        (Model is null ? "" : $", model '{Model}'");
}

/// <summary>Higher priority first, then submission order.</summary>
internal sealed class PriorityOrder : IComparer<TaskRecord>
{
    public static readonly PriorityOrder Instance = new();

    public int Compare(TaskRecord? x, TaskRecord? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        var p = y!.Priority.CompareTo(x!.Priority);
        return p != 0 ? p : x.Seq.CompareTo(y.Seq);
    }
}

/// <summary>Submission order.</summary>
internal sealed class SeqOrder : IComparer<TaskRecord>
{
    public static readonly SeqOrder Instance = new();

    public int Compare(TaskRecord? x, TaskRecord? y) => x!.Seq.CompareTo(y!.Seq);
}

/// <summary>Earliest not-before first (backoff schedule).</summary>
internal sealed class NotBeforeOrder : IComparer<TaskRecord>
{
    public static readonly NotBeforeOrder Instance = new();

    public int Compare(TaskRecord? x, TaskRecord? y)
    {
        var c = (x!.NotBefore ?? DateTimeOffset.MinValue).CompareTo(y!.NotBefore ?? DateTimeOffset.MinValue);
        return c != 0 ? c : x.Seq.CompareTo(y.Seq);
    }
}
