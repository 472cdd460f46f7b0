namespace D8.Worker.Loop;

/// <summary>Why a running task was stopped before it finished.</summary>
public enum StopReason
{
    None,
    /// <summary>The client cancelled it (heartbeat answer): report cancelled.</summary>
    Cancelled,
    /// <summary>The orchestrator no longer has the lease: abandon silently.</summary>
    Lost,
    /// <summary>Shutdown grace ran out: report released so it requeues at once.</summary>
    Released,
}
