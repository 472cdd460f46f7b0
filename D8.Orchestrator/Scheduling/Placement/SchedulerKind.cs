namespace D8.Orchestrator.Scheduling.Placement;

/// <summary>How free slots are matched with ready tasks (D8_SCHEDULER).</summary>
public enum SchedulerKind
{
    /// <summary>First come, first served: whichever free slot asks first gets the best ready task.</summary>
    Fifo,
    /// <summary>Speed-aware: a slot gets a task only when it is expected to finish it before the faster workers could;
    /// near the end of a batch an idle faster worker may run a copy of a task a slower one still runs.</summary>
    Fastest,
}
