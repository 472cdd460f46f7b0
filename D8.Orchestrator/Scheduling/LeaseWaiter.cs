using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>A long-poll lease request parked until a task it can take appears (or its wait ends).</summary>
internal sealed class LeaseWaiter(WorkerRecord worker, int max, long seq)
{
    public WorkerRecord Worker { get; } = worker;
    public int Max { get; } = max;
    /// <summary>Parking order: ties between equally fast polls go to the one that parked first.</summary>
    public long Seq { get; } = seq;
    /// <summary>What the worker's tokens-per-minute budget could take when it asked (fastest scheduler only).</summary>
    public int? TokenBudget { get; init; }
    /// <summary>Leases handed straight to this waiter by the code that made a task ready.</summary>
    public List<TaskLease> Leases { get; } = [];
    /// <summary>Commit of the writes that recorded <see cref="Leases"/>.</summary>
    public Task Commit { get; set; } = Task.CompletedTask;
    public TaskCompletionSource Woken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Parked in <see cref="ParkedPolls"/>, in a group or aside.</summary>
    internal bool IsParked { get; set; }
    /// <summary>Its group in <see cref="ParkedPolls"/> (null once taken out, or while parked aside).</summary>
    internal ParkedPolls.Group? Group { get; set; }
    internal LinkedListNode<LeaseWaiter>? Node { get; set; }
    /// <summary>Expected seconds of its worker for a task of the default size when it parked; null: unmeasured.</summary>
    internal double? SpeedKey { get; set; }
}
