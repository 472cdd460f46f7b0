using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The engine's side of the store boundary: a record's persisted fields copied into an immutable row (under the
/// engine lock, at the moment it changed), and a loaded row turned back into a record. Memory-only state (queue
/// membership, leases held, parked polls, speculative copies) is not in a row and starts empty.
/// </summary>
internal static class StoreRows
{
    public static TaskRow Row(TaskRecord t) => new()
    {
        Id = t.Id, Seq = t.Seq, State = t.State, Kind = t.Kind, Messages = t.Messages, Model = t.Model,
        Provider = t.Provider, Temperature = t.Temperature, MaxTokens = t.MaxTokens, JsonMode = t.JsonMode, TopP = t.TopP,
        Stop = t.Stop, Seed = t.Seed, Stream = t.Stream, Priority = t.Priority, Deadline = t.Deadline,
        IdempotencyKey = t.IdempotencyKey, Labels = t.Labels, CreatedAt = t.CreatedAt, UpdatedAt = t.UpdatedAt,
        NotBefore = t.NotBefore, ReadyAt = t.ReadyAt, Attempts = t.Attempts, MaxAttempts = t.MaxAttempts,
        LeaseId = t.LeaseId, LeasedBy = t.LeasedBy, LeasedAt = t.LeasedAt, LeaseExpiresAt = t.LeaseExpiresAt,
        FinalLeaseId = t.FinalLeaseId, Result = t.Result, Errors = t.Errors.ToArray(), Reason = t.Reason,
        TraceParent = t.TraceParent, TraceState = t.TraceState, ContentRelayed = t.ContentRelayed,
    };

    public static TaskRecord Record(TaskRow r) => new()
    {
        Id = r.Id, Seq = r.Seq, State = r.State, Kind = r.Kind, Messages = r.Messages, Model = r.Model,
        Provider = r.Provider, Temperature = r.Temperature, MaxTokens = r.MaxTokens, JsonMode = r.JsonMode, TopP = r.TopP,
        Stop = r.Stop, Seed = r.Seed, Stream = r.Stream, Priority = r.Priority, Deadline = r.Deadline,
        IdempotencyKey = r.IdempotencyKey, Labels = r.Labels, CreatedAt = r.CreatedAt, UpdatedAt = r.UpdatedAt,
        NotBefore = r.NotBefore, ReadyAt = r.ReadyAt, Attempts = r.Attempts, MaxAttempts = r.MaxAttempts,
        LeaseId = r.LeaseId, LeasedBy = r.LeasedBy, LeasedAt = r.LeasedAt, LeaseExpiresAt = r.LeaseExpiresAt,
        FinalLeaseId = r.FinalLeaseId, Result = r.Result, Errors = [.. r.Errors], Reason = r.Reason,
        TraceParent = r.TraceParent, TraceState = r.TraceState, ContentRelayed = r.ContentRelayed,
    };

    public static WorkerRow Row(WorkerRecord w) => new()
    {
        Id = w.Id, Name = w.Name, Provider = w.Provider, Models = w.Models, TaskKinds = w.TaskKinds,
        MaxConcurrency = w.MaxConcurrency, Host = w.Host, Version = w.Version, TokenHash = w.TokenHash, State = w.State,
        Healthy = w.Healthy, Status = w.Status, InFlight = w.InFlight, TokensPerSecond = w.TokensPerSecond,
        RegisteredAt = w.RegisteredAt, LastHeartbeat = w.LastHeartbeat, CooldownUntil = w.CooldownUntil,
        TasksSucceeded = w.TasksSucceeded, TasksFailed = w.TasksFailed, Drain = w.Drain, Revoked = w.Revoked,
        JoinEpoch = w.JoinEpoch, Address = w.Address,
    };

    public static WorkerRecord Record(WorkerRow r) => new()
    {
        Id = r.Id, Name = r.Name, Provider = r.Provider, Models = r.Models, TaskKinds = r.TaskKinds,
        MaxConcurrency = r.MaxConcurrency, Host = r.Host, Version = r.Version, TokenHash = r.TokenHash, State = r.State,
        Healthy = r.Healthy, Status = r.Status, InFlight = r.InFlight, TokensPerSecond = r.TokensPerSecond,
        RegisteredAt = r.RegisteredAt, LastHeartbeat = r.LastHeartbeat, CooldownUntil = r.CooldownUntil,
        TasksSucceeded = r.TasksSucceeded, TasksFailed = r.TasksFailed, Drain = r.Drain, Revoked = r.Revoked,
        JoinEpoch = r.JoinEpoch, Address = r.Address,
    };
}
