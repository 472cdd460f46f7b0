using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// A registered worker as the engine holds it; internal members are memory only. Each change is copied into a
/// <see cref="D8.Orchestrator.Storage.WorkerRow"/> for the store (StoreRows.cs).
/// </summary>
public sealed class WorkerRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Provider { get; init; }
    public required IReadOnlyList<string> Models { get; init; }
    public required IReadOnlyList<string> TaskKinds { get; init; }
    public int MaxConcurrency { get; init; }
    public HostInfo? Host { get; init; }
    public string? Version { get; init; }
    /// <summary>SHA-256 of the worker token, base64. The token itself is never stored.</summary>
    public required string TokenHash { get; init; }
    public WorkerState State { get; set; }
    public bool Healthy { get; set; } = true;
    public string? Status { get; set; }
    public int InFlight { get; set; }
    public double? TokensPerSecond { get; set; }
    public DateTimeOffset RegisteredAt { get; init; }
    public DateTimeOffset LastHeartbeat { get; set; }
    public DateTimeOffset? CooldownUntil { get; set; }
    public long TasksSucceeded { get; set; }
    public long TasksFailed { get; set; }
    /// <summary>Asked to drain: no new leases; told so in every heartbeat answer.</summary>
    public bool Drain { get; set; }

    /// <summary>Revoked by an operator or a join-token rotation (shown as gone; the token no longer works).</summary>
    public bool Revoked { get; set; }

    /// <summary>Which join secret it registered under (a short hash of a hash, see SchedulingEngine.Trust.cs).</summary>
    public string? JoinEpoch { get; init; }

    /// <summary>Remote address it registered from; with name, provider and host info it identifies a restart.</summary>
    public string? Address { get; init; }

    /// <summary>Budget windows from the last heartbeat (not stored: the next heartbeat brings them again).</summary>
    internal IReadOnlyList<BudgetWindow> Budget { get; set; } = [];

    /// <summary>The worker said it must wait for its budget until then: no task is handed to it before.</summary>
    internal DateTimeOffset? BudgetReadyAt { get; set; }

    /// <summary>Already in this lock region's change set.</summary>
    internal bool Dirty { get; set; }

    /// <summary>Its lease polls parked right now (see <see cref="ParkedPolls"/>).</summary>
    internal List<LeaseWaiter> Parked { get; } = [];

    /// <summary>When it last asked for a lease: a worker that neither runs nor asks is not waited for.</summary>
    internal DateTimeOffset LastPollAt { get; set; }

    /// <summary>Ids of tasks this worker holds a lease on.</summary>
    internal HashSet<string> Leases { get; } = [];

    /// <summary>Tasks a client cancelled while this worker ran them; sent once in the next heartbeat answer.</summary>
    internal List<string> PendingCancels { get; } = [];

    /// <summary>Leases taken away (expired); sent once in the next heartbeat answer.</summary>
    internal List<string> LostLeases { get; } = [];

    /// <summary>True if this worker may run <paramref name="kind"/> tasks with these requirements.</summary>
    internal bool CanServe(string kind, string? provider, string? model) =>
        TaskKinds.Contains(kind, StringComparer.Ordinal)
        && (provider is null || string.Equals(provider, Provider, StringComparison.OrdinalIgnoreCase))
        && (model is null || Models.Contains(model, StringComparer.Ordinal));
}
