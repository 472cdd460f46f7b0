using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>A long-poll lease request parked until a task it can take appears (or its wait ends).</summary>
internal sealed class LeaseWaiter(WorkerRecord worker, int max)
{
    public WorkerRecord Worker { get; } = worker;
    public int Max { get; } = max;
    /// <summary>What the worker's tokens-per-minute budget could take when it asked (fastest scheduler only).</summary>
    public int? TokenBudget { get; init; }
    /// <summary>Leases handed straight to this waiter by the code that made a task ready.</summary>
    public List<TaskLease> Leases { get; } = [];
    /// <summary>Commit of the writes that recorded <see cref="Leases"/>.</summary>
    public Task Commit { get; set; } = Task.CompletedTask;
    public TaskCompletionSource Woken { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
