using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Where work goes: which ready tasks a worker's lease poll gets, and where a task that just became ready goes (a
/// parked poll, or its queue). One implementation per D8_SCHEDULER value, chosen once in the engine's constructor:
/// <see cref="FifoPlacement"/> (priority, then submission order, to whichever worker asks) and
/// <see cref="FastestPlacement"/> (learned speeds, scarce requests, token budgets, speculative copies). Called under
/// the engine's lock; it changes tasks only through <see cref="TaskLifecycle"/>.
/// </summary>
internal interface IPlacementStrategy
{
    /// <summary>The scheduler's name, as /api/stats shows it.</summary>
    string Name { get; }

    /// <summary>The token budget a lease poll's decisions honour (what the worker's tokens-per-minute window can take now).</summary>
    int? TokenBudget(int? asked);

    /// <summary>Leases up to <paramref name="max"/> ready tasks to <paramref name="worker"/> into <paramref name="leases"/>.</summary>
    void Fill(WorkerRecord worker, int max, DateTimeOffset now, List<TaskLease> leases, int? tokenBudget);

    /// <summary>A task became ready (submitted, retried, released): hand it to a parked poll, or put it in its queue.</summary>
    void Offer(TaskRecord task, DateTimeOffset now);

    /// <summary>A lease poll found nothing: it parks until a task is offered to it or its wait ends.</summary>
    void Park(LeaseWaiter waiter);
}
