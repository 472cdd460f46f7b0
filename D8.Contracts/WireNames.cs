namespace D8.Contracts;

/// <summary>
/// The wire spelling of every enum (the same strings <see cref="D8JsonContext"/> writes), for code that prints or
/// parses them outside JSON: query strings, store columns, metric tags, the CLI's tables.
/// </summary>
public static class WireNames
{
    // Task states as constants, for code that needs them at compile time (SQL, switch labels).
    public const string Queued = "queued";
    public const string Leased = "leased";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>Every task state's wire name, in the enum's order (queued … cancelled).</summary>
    public static IReadOnlyList<string> TaskStates { get; } = [Queued, Leased, Succeeded, Failed, Cancelled];

    /// <summary>The terminal states' wire names (succeeded, failed, cancelled).</summary>
    public static IReadOnlyList<string> FinishedStates { get; } = [Succeeded, Failed, Cancelled];

    public static string Of(TaskState state) => state switch
    {
        TaskState.Queued => Queued,
        TaskState.Leased => Leased,
        TaskState.Succeeded => Succeeded,
        TaskState.Failed => Failed,
        _ => Cancelled,
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

    /// <summary>Parses a task state's wire name (case-insensitive): <c>?state=</c>, <c>d8 tasks --state</c>.</summary>
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
