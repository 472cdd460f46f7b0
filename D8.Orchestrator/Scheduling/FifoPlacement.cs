using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The default scheduler (D8_SCHEDULER=fifo): a worker's lease poll gets the best ready tasks it can serve — highest
/// priority first, then oldest — and a task that becomes ready goes to the first parked poll that can run it (groups of
/// workers in the order they appeared, polls in parking order). Speeds, budgets and copies play no part.
/// </summary>
internal sealed class FifoPlacement(EngineState s, TaskLifecycle lifecycle) : IPlacementStrategy
{
    public string Name => "fifo";

    public int? TokenBudget(int? asked) => null;

    public void Fill(WorkerRecord worker, int max, DateTimeOffset now, List<TaskLease> leases, int? tokenBudget)
    {
        if (s.Queues.Eligible(worker) is not { } eligible)
        {
            return;
        }
        while (leases.Count < max && LeaseBook.CanLease(worker, now))
        {
            if (TaskQueues.BestHead(eligible) is not { } head)
            {
                return;
            }
            if (head.Deadline <= now)
            {
                lifecycle.Finish(head, TaskState.Failed, now, "deadline passed");
                continue;
            }
            lifecycle.Lease(head, worker, now, leases);
        }
    }

    public void Offer(TaskRecord task, DateTimeOffset now)
    {
        foreach (var group in s.Parked.Groups)
        {
            if (!group.Sample.CanServe(task.Kind, task.Provider, task.Model)) continue;
            if (s.Parked.First(group, now, 0, static (_, _) => true) is { } waiter)
            {
                lifecycle.LeaseTo(waiter, task, now);
                return;
            }
        }
        s.Queues.AddReady(task);
    }

    public void Park(LeaseWaiter waiter) => s.Parked.Park(waiter, null, LeaseBook.CanLease(waiter.Worker, s.Now));
}
