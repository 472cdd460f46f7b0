namespace D8.Orchestrator.Scheduling.Placement;

/// <summary>How much work a task is: the output tokens it may produce (its max_tokens, else a default) and the
/// prompt tokens it sends (characters / 4), the latter counting against a provider's tokens-per-minute budget.</summary>
public static class WorkEstimate
{
    /// <summary>Output tokens assumed for a task that sets no max_tokens.</summary>
    public const int DefaultOutputTokens = 256;

    public static int OutputTokens(int? maxTokens) => maxTokens is > 0 ? maxTokens.Value : DefaultOutputTokens;

    internal static int OutputTokens(TaskRecord task) => OutputTokens(task.MaxTokens);

    /// <summary>Prompt plus output tokens: what a provider's tokens-per-minute budget is charged.</summary>
    internal static int TotalTokens(TaskRecord task)
    {
        var chars = 0;
        foreach (var m in task.Messages) chars += m.Content.Length;
        return chars / 4 + OutputTokens(task);
    }
}
