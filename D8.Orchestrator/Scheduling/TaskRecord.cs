using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// A task as the engine holds it: the entity and, in its internal members, its place in the engine's indexes. The
/// store never sees it: each change is copied into a <see cref="D8.Orchestrator.Storage.TaskRow"/> (StoreRows.cs).
/// </summary>
public sealed class TaskRecord
{
    public required string Id { get; init; }
    public long Seq { get; set; }
    public TaskState State { get; set; }
    public required string Kind { get; init; }
    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    public string? Model { get; init; }
    public string? Provider { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public bool JsonMode { get; init; }
    public double? TopP { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public long? Seed { get; init; }
    /// <summary>The submitter reads the answer as a stream (the worker relays tokens while it runs).</summary>
    public bool Stream { get; init; }
    public int Priority { get; init; }
    public DateTimeOffset? Deadline { get; init; }
    public string? IdempotencyKey { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>Not to be leased before this instant (retry backoff).</summary>
    public DateTimeOffset? NotBefore { get; set; }
    /// <summary>When the task last became leasable; dispatch latency is measured from here.</summary>
    public DateTimeOffset ReadyAt { get; set; }
    /// <summary>Attempts that counted (a rate-limited or released attempt is given back).</summary>
    public int Attempts { get; set; }
    public int MaxAttempts { get; init; }
    public string? LeaseId { get; set; }
    public string? LeasedBy { get; set; }
    public DateTimeOffset? LeasedAt { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }
    /// <summary>The lease that ended the task (completion idempotency, late reports after a cancel).</summary>
    public string? FinalLeaseId { get; set; }
    public TaskResult? Result { get; set; }
    public List<TaskAttemptError> Errors { get; init; } = [];
    /// <summary>Why the task failed or was cancelled.</summary>
    public string? Reason { get; set; }
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }
    /// <summary>Streamed text of this task reached the orchestrator (and so perhaps its caller): a failed attempt can
    /// no longer start over unseen, so the task is not retried (<see cref="FailurePolicy.AfterStreamedContent"/>).</summary>
    public bool ContentRelayed { get; set; }

    /// <summary>Characters the current lease relayed so far (memory only: the next relay piece's expected offset).</summary>
    internal long RelayedChars { get; set; }

    /// <summary>The routing queue this task belongs to (same kind/provider/model requirement).</summary>
    internal RoutingQueue? Queue { get; set; }

    /// <summary>True while sitting in its queue's ready set; false while delayed by backoff.</summary>
    internal bool InReadySet { get; set; }

    /// <summary>Commit of the submit that created the task (a duplicate submit waits on it too).</summary>
    internal Task Created { get; set; } = Task.CompletedTask;

    /// <summary>Already in this lock region's change set.</summary>
    internal bool Dirty { get; set; }

    /// <summary>Heartbeats in a row from its holder that did not list this lease (see SchedulingEngine.IsOrphan).</summary>
    internal int UnlistedBeats { get; set; }

    /// <summary>A speculative copy's lease: the same task also running on a faster worker (memory only: a restart
    /// forgets the copy, whose report is then refused as a stale lease).</summary>
    internal string? SpecLeaseId { get; set; }
    internal string? SpecLeasedBy { get; set; }
    internal DateTimeOffset SpecLeasedAt { get; set; }
    internal DateTimeOffset SpecLeaseExpiresAt { get; set; }

    internal static TaskRecord Probe(long seq) => new() { Id = "", Kind = "", Messages = [], Seq = seq };
}
