using System.Text.Json.Serialization;

namespace D8.Contracts;

/// <summary>Where a task is in its life. Terminal states: succeeded, failed, cancelled.</summary>
public enum TaskState
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("leased")] Leased,
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>Why a worker gave a task back.</summary>
public enum FailureKind
{
    /// <summary>The provider said 429/503: the task goes back without burning an attempt; the worker cools down.</summary>
    [JsonStringEnumMemberName("rate_limited")] RateLimited,
    /// <summary>Timeout, dropped connection, 5xx: retried with backoff, an attempt is counted.</summary>
    [JsonStringEnumMemberName("transient")] Transient,
    /// <summary>Bad model or bad request: the task fails at once.</summary>
    [JsonStringEnumMemberName("permanent")] Permanent,
    /// <summary>The worker stopped the task because it was asked to (cancel in a heartbeat answer).</summary>
    [JsonStringEnumMemberName("cancelled")] Cancelled,
    /// <summary>The worker is shutting down or cannot run it now: requeued at once, no attempt burned.</summary>
    [JsonStringEnumMemberName("released")] Released,
}

/// <summary>What the orchestrator knows of a worker's liveness.</summary>
public enum WorkerState
{
    [JsonStringEnumMemberName("online")] Online,
    [JsonStringEnumMemberName("draining")] Draining,
    [JsonStringEnumMemberName("offline")] Offline,
    [JsonStringEnumMemberName("gone")] Gone,
}

/// <summary>Task states helpers.</summary>
public static class TaskStateExtensions
{
    /// <summary>True for succeeded, failed and cancelled.</summary>
    public static bool IsTerminal(this TaskState state) =>
        state is TaskState.Succeeded or TaskState.Failed or TaskState.Cancelled;
}
