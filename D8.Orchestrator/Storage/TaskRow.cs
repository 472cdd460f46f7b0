using D8.Contracts;

namespace D8.Orchestrator.Storage;

/// <summary>
/// A task as the store keeps it: the persisted fields of the engine's task at the moment it changed, an immutable
/// snapshot built under the engine lock. How it is written (columns, a JSON column…) is the store's business.
/// </summary>
public sealed record TaskRow
{
    public required string Id { get; init; }
    /// <summary>Submission order (paging and restart order).</summary>
    public long Seq { get; init; }
    public TaskState State { get; init; }
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
    public bool Stream { get; init; }
    public int Priority { get; init; }
    public DateTimeOffset? Deadline { get; init; }
    /// <summary>Indexed: start-up loads the keys still inside the idempotency window.</summary>
    public string? IdempotencyKey { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>For a finished task, when it finished (retention deletes by it).</summary>
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public DateTimeOffset ReadyAt { get; init; }
    public int Attempts { get; init; }
    public int MaxAttempts { get; init; }
    public string? LeaseId { get; init; }
    public string? LeasedBy { get; init; }
    public DateTimeOffset? LeasedAt { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public string? FinalLeaseId { get; init; }
    public TaskResult? Result { get; init; }
    public IReadOnlyList<TaskAttemptError> Errors { get; init; } = [];
    public string? Reason { get; init; }
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }
    public bool ContentRelayed { get; init; }
}
