using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>Engine records as the wire shows them (task view, worker view, lease).</summary>
internal static class TaskViews
{
    /// <summary>A task's view; <paramref name="waitReason"/> (why a queued task waits) fills <c>reason</c> while it is queued.</summary>
    public static TaskView Of(TaskRecord t, string? waitReason = null)
    {
        var unroutable = t.State == TaskState.Queued && t.Queue is { Unroutable: true };
        return new TaskView
        {
            Id = t.Id,
            State = t.State,
            Kind = t.Kind,
            Messages = t.Messages,
            Model = t.Model,
            Provider = t.Provider,
            Temperature = t.Temperature,
            MaxTokens = t.MaxTokens,
            JsonMode = t.JsonMode,
            TopP = t.TopP,
            Stop = t.Stop,
            Seed = t.Seed,
            Stream = t.Stream,
            Priority = t.Priority,
            Deadline = t.Deadline,
            IdempotencyKey = t.IdempotencyKey,
            Labels = t.Labels,
            CreatedAt = t.CreatedAt,
            UpdatedAt = t.UpdatedAt,
            NotBefore = t.NotBefore,
            Attempts = t.Attempts,
            MaxAttempts = t.MaxAttempts,
            LeasedBy = t.LeasedBy,
            LeaseExpiresAt = t.LeaseExpiresAt,
            Result = t.Result,
            Errors = t.Errors.ToArray(),
            Unroutable = unroutable,
            Reason = unroutable ? t.Queue!.Describe() : waitReason ?? t.Reason,
        };
    }

    public static WorkerView Of(WorkerRecord w, IReadOnlyList<ModelSpeed> speeds) => new()
    {
        Id = w.Id,
        Name = w.Name,
        Provider = w.Provider,
        Models = w.Models,
        TaskKinds = w.TaskKinds,
        State = w.State,
        Healthy = w.Healthy,
        Status = w.Status,
        MaxConcurrency = w.MaxConcurrency,
        InFlight = w.InFlight,
        TokensPerSecond = w.TokensPerSecond,
        RegisteredAt = w.RegisteredAt,
        LastHeartbeat = w.LastHeartbeat,
        CooldownUntil = w.CooldownUntil,
        TasksSucceeded = w.TasksSucceeded,
        TasksFailed = w.TasksFailed,
        Host = w.Host,
        Version = w.Version,
        Speeds = speeds,
        Budget = w.Budget,
        BudgetReadyAt = w.BudgetReadyAt,
    };

    public static TaskLease LeaseOf(TaskRecord task) => new()
    {
        TaskId = task.Id,
        LeaseId = task.LeaseId!,
        ExpiresAt = task.LeaseExpiresAt!.Value,
        Attempt = task.Attempts,
        Kind = task.Kind,
        Messages = task.Messages,
        Model = task.Model,
        Temperature = task.Temperature,
        MaxTokens = task.MaxTokens,
        JsonMode = task.JsonMode,
        TopP = task.TopP,
        Stop = task.Stop,
        Seed = task.Seed,
        Stream = task.Stream,
        Deadline = task.Deadline,
        TraceParent = task.TraceParent,
        TraceState = task.TraceState,
    };
}
