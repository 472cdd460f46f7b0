using D8.Contracts;

namespace D8.Orchestrator.Storage;

/// <summary>A registered worker as the store keeps it (the token's hash, never the token).</summary>
public sealed record WorkerRow
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Provider { get; init; }
    public required IReadOnlyList<string> Models { get; init; }
    public required IReadOnlyList<string> TaskKinds { get; init; }
    public int MaxConcurrency { get; init; }
    public HostInfo? Host { get; init; }
    public string? Version { get; init; }
    public required string TokenHash { get; init; }
    public WorkerState State { get; init; }
    public bool Healthy { get; init; } = true;
    public string? Status { get; init; }
    public int InFlight { get; init; }
    public double? TokensPerSecond { get; init; }
    public DateTimeOffset RegisteredAt { get; init; }
    public DateTimeOffset LastHeartbeat { get; init; }
    public DateTimeOffset? CooldownUntil { get; init; }
    public long TasksSucceeded { get; init; }
    public long TasksFailed { get; init; }
    public bool Drain { get; init; }
    public bool Revoked { get; init; }
    public string? JoinEpoch { get; init; }
    public string? Address { get; init; }
}
