using D8.Contracts;

namespace D8.Orchestrator.Tasks;

/// <summary>Checks a submit request field by field; every problem is reported, not just the first.</summary>
public static class SubmitValidation
{
    public static IReadOnlyList<string> Providers => ProviderCatalog.Names;
    private static readonly string[] Roles = ["system", "user", "assistant"];

    /// <summary>Field → messages; empty when the request is valid.</summary>
    public static Dictionary<string, string[]> Validate(SubmitTaskRequest r, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        void Add(string field, string message) => errors[field] = [.. errors.GetValueOrDefault(field, []), message];

        var hasMessages = r.Messages is { Count: > 0 };
        if (string.IsNullOrWhiteSpace(r.Prompt) && !hasMessages)
        {
            Add("prompt", "Give a prompt or a non-empty messages list.");
        }
        if (!string.IsNullOrWhiteSpace(r.Prompt) && r.Messages is not null)
        {
            Add("messages", "Give either prompt (with optional system) or messages, not both.");
        }
        if (r.System is not null && r.Messages is not null)
        {
            Add("system", "system goes with prompt; with messages put a system message in the list.");
        }
        if (r.Messages is { } messages)
        {
            for (var i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                if (m is null || !Roles.Contains(m.Role))
                {
                    Add($"messages[{i}].role", "role must be system, user or assistant.");
                }
                if (m is not null && m.Content is null)
                {
                    Add($"messages[{i}].content", "content is required.");
                }
            }
        }
        if (r.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            Add("temperature", "temperature must be between 0 and 2.");
        }
        if (r.MaxTokens is { } mt && (mt <= 0 || mt > 1_000_000))
        {
            Add("max_tokens", "max_tokens must be between 1 and 1000000.");
        }
        if (r.Priority is { } p && (p < 0 || p > 9))
        {
            Add("priority", "priority must be between 0 (lowest) and 9 (highest).");
        }
        if (r.Deadline is { } d && d <= now)
        {
            Add("deadline", "deadline is already in the past.");
        }
        if (r.Provider is { } provider && !Providers.Contains(provider.ToLowerInvariant()))
        {
            Add("provider", $"provider must be one of {string.Join(", ", Providers)}.");
        }
        if (r.Model is { } model && (model.Length == 0 || model.Length > 200))
        {
            Add("model", "model must be 1 to 200 characters.");
        }
        if (r.Kind is { } kind && (kind.Length == 0 || kind.Length > 64))
        {
            Add("kind", "kind must be 1 to 64 characters.");
        }
        if (r.IdempotencyKey is { } key && (key.Length == 0 || key.Length > 200))
        {
            Add("idempotency_key", "idempotency_key must be 1 to 200 characters.");
        }
        if (r.Labels is { Count: > 50 })
        {
            Add("labels", "at most 50 labels.");
        }
        return errors;
    }
}
