using D8.Contracts;
using D8.Orchestrator.Tasks;

namespace D8.Orchestrator.Workers;

/// <summary>Field checks for the worker protocol's bodies.</summary>
public static class WorkerValidation
{
    public static Dictionary<string, string[]> Validate(RegisterWorkerRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(r.Name) || r.Name.Length > 200)
        {
            errors["name"] = ["name must be 1 to 200 characters."];
        }
        if (r.Provider is null || !SubmitValidation.Providers.Contains(r.Provider.ToLowerInvariant()))
        {
            errors["provider"] = [$"provider must be one of {string.Join(", ", SubmitValidation.Providers)}."];
        }
        if (r.Models is null || r.Models.Count == 0 || r.Models.Any(m => string.IsNullOrWhiteSpace(m) || m.Length > 200))
        {
            errors["models"] = ["models must list at least one model name (1 to 200 characters each)."];
        }
        if (r.TaskKinds is { } kinds && kinds.Any(k => string.IsNullOrWhiteSpace(k) || k.Length > 64))
        {
            errors["task_kinds"] = ["task kinds must be 1 to 64 characters."];
        }
        if (r.MaxConcurrency < 0 || r.MaxConcurrency > 1024)
        {
            errors["max_concurrency"] = ["max_concurrency must be between 1 and 1024 (0 or absent means 1)."];
        }
        return errors;
    }

    public static Dictionary<string, string[]> Validate(LeaseRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (r.Max < 1 || r.Max > 256)
        {
            errors["max"] = ["max must be between 1 and 256."];
        }
        if (r.TokenBudget is < 0)
        {
            errors["token_budget"] = ["token_budget must not be negative."];
        }
        return errors;
    }

    public static Dictionary<string, string[]> Validate(HeartbeatRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (r.InFlight < 0)
        {
            errors["in_flight"] = ["in_flight cannot be negative."];
        }
        if (r.LeaseIds is { Count: > 4096 })
        {
            errors["lease_ids"] = ["at most 4096 lease ids."];
        }
        if (r.Budget is { } budget && (budget.Count > 16
            || budget.Any(b => b is null || string.IsNullOrWhiteSpace(b.Window) || b.Used < 0 || b.Limit < 0
                               || !double.IsFinite(b.Seconds) || b.Seconds <= 0)))
        {
            errors["budget"] = ["at most 16 windows, each with a name, used and limit not negative, and seconds above 0."];
        }
        return errors;
    }

    public static Dictionary<string, string[]> Validate(CompleteTaskRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(r.LeaseId))
        {
            errors["lease_id"] = ["lease_id is required."];
        }
        if (r.Content is null)
        {
            errors["content"] = ["content is required."];
        }
        return errors;
    }

    public static Dictionary<string, string[]> Validate(FailTaskRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(r.LeaseId))
        {
            errors["lease_id"] = ["lease_id is required."];
        }
        if (r.Message is null)
        {
            errors["message"] = ["message is required."];
        }
        if (!Enum.IsDefined(r.Kind))
        {
            errors["kind"] = ["kind must be rate_limited, transient, permanent, cancelled or released."];
        }
        if (r.RetryAfterSeconds is { } s && (double.IsNaN(s) || s < 0 || s > 86400))
        {
            errors["retry_after_seconds"] = ["retry_after_seconds must be between 0 and 86400."];
        }
        return errors;
    }
}
