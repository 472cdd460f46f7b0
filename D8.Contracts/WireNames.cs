namespace D8.Contracts;

/// <summary>
/// The wire spelling of every enum (the same strings <see cref="D8JsonContext"/> writes), for code that prints or
/// parses them outside JSON: query strings, store columns, metric tags, the CLI's tables.
/// </summary>
public static class WireNames
{
    public static string Of(TaskState state) => state switch
    {
        TaskState.Queued => "queued",
        TaskState.Leased => "leased",
        TaskState.Succeeded => "succeeded",
        TaskState.Failed => "failed",
        _ => "cancelled",
    };

    public static string Of(WorkerState state) => state switch
    {
        WorkerState.Online => "online",
        WorkerState.Draining => "draining",
        WorkerState.Offline => "offline",
        _ => "gone",
    };

    public static string Of(FailureKind kind) => kind switch
    {
        FailureKind.RateLimited => "rate_limited",
        FailureKind.Transient => "transient",
        FailureKind.Permanent => "permanent",
        FailureKind.Cancelled => "cancelled",
        _ => "released",
    };

    /// <summary>Parses a task state's wire name (case-insensitive).</summary>
    public static bool TryParse(string? name, out TaskState state)
    {
        foreach (var s in Enum.GetValues<TaskState>())
        {
            if (string.Equals(Of(s), name, StringComparison.OrdinalIgnoreCase))
            {
                state = s;
                return true;
            }
        }
        state = default;
        return false;
    }
}

/// <summary>Token totals: what a report's usage counts for, everywhere it is summed.</summary>
public static class TokenTotals
{
    /// <summary>total_tokens if reported, else prompt + completion; 0 without usage.</summary>
    public static long Of(TokenUsage? usage) =>
        usage is null ? 0 : usage.TotalTokens ?? ((long)(usage.PromptTokens ?? 0) + (usage.CompletionTokens ?? 0));
}

/// <summary>The providers a worker can run and a task can ask for (lower-case wire names).</summary>
public static class ProviderNames
{
    public const string Ollama = "ollama";
    public const string Groq = "groq";
    public const string Gemini = "gemini";
    public const string OpenAi = "openai";

    public static IReadOnlyList<string> All { get; } = [Ollama, Groq, Gemini, OpenAi];

    /// <summary>True for a known provider (case-insensitive).</summary>
    public static bool IsKnown(string? name) => All.Contains(name?.ToLowerInvariant());

    /// <summary>"ollama, groq, gemini, openai" for messages.</summary>
    public static string List => string.Join(", ", All);
}
