namespace D8.Contracts;

/// <summary>One chat message. Role is system, user or assistant.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>Client request to run a chat task. Give either <see cref="Prompt"/> or <see cref="Messages"/>.</summary>
public sealed record SubmitTaskRequest
{
    /// <summary>Shorthand for a single user message.</summary>
    public string? Prompt { get; init; }
    /// <summary>Optional system message put before <see cref="Prompt"/>.</summary>
    public string? System { get; init; }
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Only workers serving this model may run the task.</summary>
    public string? Model { get; init; }
    /// <summary>Only workers of this provider (ollama, groq, gemini, openai) may run the task.</summary>
    public string? Provider { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public bool JsonMode { get; init; }
    /// <summary>Nucleus sampling (0–1), passed to providers that take it.</summary>
    public double? TopP { get; init; }
    /// <summary>Up to 4 sequences at which the provider stops generating.</summary>
    public IReadOnlyList<string>? Stop { get; init; }
    /// <summary>Sampling seed, passed to providers that take it.</summary>
    public long? Seed { get; init; }
    /// <summary>The submitter reads the answer as a stream: the worker relays its tokens to the orchestrator while it runs.</summary>
    public bool Stream { get; init; }
    /// <summary>0 (lowest) to 9 (highest); default 5. Higher runs first, FIFO within a priority.</summary>
    public int? Priority { get; init; }
    /// <summary>After this instant the task is failed instead of started.</summary>
    public DateTimeOffset? Deadline { get; init; }
    /// <summary>A second submit with the same key returns the first task instead of a new one.</summary>
    public string? IdempotencyKey { get; init; }
    /// <summary>Task kind (default "chat"); workers run the kinds they registered (chat and the evolve.* kinds by default).</summary>
    public string? Kind { get; init; }
    /// <summary>Free labels kept with the task (batch name, caller).</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>202 answer to a submit.</summary>
public sealed record SubmitTaskResponse(string Id, TaskState State, string Location, bool Duplicate);

/// <summary>Token counts as the provider reported them.</summary>
public sealed record TokenUsage(int? PromptTokens, int? CompletionTokens, int? TotalTokens);

/// <summary>The result a worker reported for a task.</summary>
public sealed record TaskResult
{
    public required string Content { get; init; }
    public string? FinishReason { get; init; }
    public string? Model { get; init; }
    public string? Provider { get; init; }
    public string? WorkerId { get; init; }
    public string? WorkerName { get; init; }
    public TokenUsage? Usage { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    public double? DurationMs { get; init; }
    public double? TokensPerSecond { get; init; }
}

/// <summary>One failed attempt, kept in the task's history.</summary>
public sealed record TaskAttemptError(
    int Attempt,
    FailureKind Kind,
    string Message,
    string? WorkerId,
    DateTimeOffset At);

/// <summary>A task as clients see it.</summary>
public sealed record TaskView
{
    public required string Id { get; init; }
    public required TaskState State { get; init; }
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
    public string? IdempotencyKey { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public int Attempts { get; init; }
    public int MaxAttempts { get; init; }
    public string? LeasedBy { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public TaskResult? Result { get; init; }
    public IReadOnlyList<TaskAttemptError> Errors { get; init; } = [];
    /// <summary>True while no registered worker (online or not) could ever serve this task.</summary>
    public bool Unroutable { get; init; }
    /// <summary>Why the task is unroutable, or why it failed.</summary>
    public string? Reason { get; init; }
}

/// <summary>A page of tasks; pass <see cref="NextCursor"/> back as ?cursor= for the next page.</summary>
public sealed record TaskPage(IReadOnlyList<TaskView> Items, string? NextCursor);
