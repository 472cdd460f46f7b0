namespace D8.Contracts;

/// <summary>Facts about the machine a worker runs on.</summary>
public sealed record HostInfo(string? Arch, int? Cores, long? MemoryMb, string? Os);

/// <summary>Registration. Authenticated with the join token.</summary>
public sealed record RegisterWorkerRequest
{
    /// <summary>Human name, e.g. "pi-kitchen-deepseek". Need not be unique.</summary>
    public required string Name { get; init; }
    /// <summary>ollama, groq, gemini or openai.</summary>
    public required string Provider { get; init; }
    /// <summary>Models this worker can run; the first is its default for tasks that name none.</summary>
    public required IReadOnlyList<string> Models { get; init; }
    /// <summary>Task kinds it runs; default ["chat"].</summary>
    public IReadOnlyList<string>? TaskKinds { get; init; }
    public int MaxConcurrency { get; init; } = 1;
    public HostInfo? Host { get; init; }
    public string? Version { get; init; }
}

/// <summary>Registration answer: the token for every later call and the timing the worker must keep.</summary>
public sealed record RegisterWorkerResponse(
    string WorkerId,
    string WorkerToken,
    double HeartbeatIntervalSeconds,
    double LeaseDurationSeconds);

/// <summary>Liveness and live metrics. Renews every lease the worker holds.</summary>
public sealed record HeartbeatRequest
{
    public int InFlight { get; init; }
    public double? TokensPerSecond { get; init; }
    /// <summary>False when the worker cannot serve (bad provider key, model missing); it is then given no tasks.</summary>
    public bool Healthy { get; init; } = true;
    public string? Status { get; init; }
    /// <summary>Leases the worker believes it holds; any the orchestrator no longer has come back in <see cref="HeartbeatResponse.LostLeases"/>.</summary>
    public IReadOnlyList<string>? LeaseIds { get; init; }
    /// <summary>The worker's provider budgets (requests/tokens per minute, requests per day) as used now; null when it has none.</summary>
    public IReadOnlyList<BudgetWindow>? Budget { get; init; }
    /// <summary>When the worker can next afford a request (a spent window refills, or a provider cooldown ends); null or past: now.
    /// The orchestrator hands such a worker no task before then.</summary>
    public DateTimeOffset? BudgetReadyAt { get; init; }
}

/// <summary>
/// One provider budget window as a worker reports it, and the names of the three windows there are: the worker's
/// budgets (D8_RPM, D8_TPM, D8_RPD) and metric tags, the orchestrator's placement, the CLI's fleet table and the
/// emulators' rate limits all spell them from here.
/// </summary>
/// <param name="Window"><see cref="RequestsPerMinute"/>, <see cref="TokensPerMinute"/> or <see cref="RequestsPerDay"/>.</param>
/// <param name="Used">Spent in the current window.</param>
/// <param name="Limit">The window's limit.</param>
/// <param name="Seconds">The window's length (60 for a minute, 86400 for a day).</param>
public sealed record BudgetWindow(string Window, long Used, long Limit, double Seconds)
{
    /// <summary>Requests per minute (RPM).</summary>
    public const string RequestsPerMinute = "requests_per_minute";

    /// <summary>Tokens per minute (TPM): prompt plus the requested completion budget.</summary>
    public const string TokensPerMinute = "tokens_per_minute";

    /// <summary>Requests per day (RPD).</summary>
    public const string RequestsPerDay = "requests_per_day";

    /// <summary>A window's length at real time: a day for <see cref="RequestsPerDay"/>, else a minute.</summary>
    public static TimeSpan LengthOf(string window) => window == RequestsPerDay ? TimeSpan.FromDays(1) : TimeSpan.FromMinutes(1);

    /// <summary>A window's short label (rpm, tpm, rpd), as the CLI's fleet table shows it; an unknown name as it is.</summary>
    public static string ShortName(string window) => window switch
    {
        RequestsPerMinute => "rpm",
        TokensPerMinute => "tpm",
        RequestsPerDay => "rpd",
        _ => window,
    };
}

/// <summary>Heartbeat answer: what the orchestrator wants of the worker.</summary>
public sealed record HeartbeatResponse
{
    /// <summary>Task ids whose run must stop (the client cancelled them).</summary>
    public IReadOnlyList<string> CancelTaskIds { get; init; } = [];
    /// <summary>Lease ids the worker no longer holds (expired, or taken back): stop work on them.</summary>
    public IReadOnlyList<string> LostLeases { get; init; } = [];
    /// <summary>Stop leasing, finish what runs, then deregister.</summary>
    public bool Drain { get; init; }
    /// <summary>New expiry of every lease the worker holds.</summary>
    public DateTimeOffset LeaseExpiresAt { get; init; }
    /// <summary>Worker may not lease before this instant (rate-limit cooldown).</summary>
    public DateTimeOffset? CooldownUntil { get; init; }
}

/// <summary>Long-poll lease request body; the wait is the query string's ?wait= (seconds).</summary>
public sealed record LeaseRequest(int Max = 1)
{
    /// <summary>Tokens (prompt characters / 4 plus max_tokens) the worker's tokens-per-minute budget can take right
    /// now; the fastest scheduler hands out only tasks that fit. Null: no such limit.</summary>
    public int? TokenBudget { get; init; }
}

/// <summary>A task handed to a worker.</summary>
public sealed record TaskLease
{
    public required string TaskId { get; init; }
    public required string LeaseId { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>1 for the first try.</summary>
    public required int Attempt { get; init; }
    public required string Kind { get; init; }
    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    /// <summary>The model to run: the task's requirement, or null for the worker's default.</summary>
    public string? Model { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public bool JsonMode { get; init; }
    public double? TopP { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public long? Seed { get; init; }
    /// <summary>Relay the answer's tokens to the orchestrator while running (the submitter streams it).</summary>
    public bool Stream { get; init; }
    public DateTimeOffset? Deadline { get; init; }
    /// <summary>W3C trace context of the submitting request, so the worker's run continues its trace.</summary>
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }
}

/// <summary>Up to N leases returned by one long-poll.</summary>
public sealed record LeaseBatch(IReadOnlyList<TaskLease> Leases);

/// <summary>Success report. Idempotent on the lease id.</summary>
public sealed record CompleteTaskRequest
{
    public required string LeaseId { get; init; }
    public required string Content { get; init; }
    public string? FinishReason { get; init; }
    public string? Model { get; init; }
    public TokenUsage? Usage { get; init; }
    public double? TimeToFirstTokenMs { get; init; }
    public double? DurationMs { get; init; }
    public double? TokensPerSecond { get; init; }
}

/// <summary>
/// One piece of a streamed task's answer, relayed by the worker while it runs (<c>POST /api/tasks/{id}/relay</c>,
/// docs/worker-protocol.md). Pieces of a lease are sent one after another; <see cref="Offset"/> is how many characters
/// of the answer this lease relayed before this piece, so a lost or repeated piece is refused instead of garbling the
/// stream.
/// </summary>
public sealed record RelayRequest
{
    /// <summary>Most characters one relay request may carry.</summary>
    public const int MaxTextChars = 16_384;

    public required string LeaseId { get; init; }
    public required long Offset { get; init; }
    public required string Text { get; init; }
}

/// <summary>Failure report; the orchestrator decides retry, another worker, or failure.</summary>
public sealed record FailTaskRequest
{
    public required string LeaseId { get; init; }
    public required FailureKind Kind { get; init; }
    public required string Message { get; init; }
    /// <summary>With rate_limited: how long the provider asked to wait.</summary>
    public double? RetryAfterSeconds { get; init; }
}

/// <summary>A worker in the fleet view.</summary>
public sealed record WorkerView
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Provider { get; init; }
    public required IReadOnlyList<string> Models { get; init; }
    public IReadOnlyList<string> TaskKinds { get; init; } = [];
    public required WorkerState State { get; init; }
    public bool Healthy { get; init; }
    public string? Status { get; init; }
    public int MaxConcurrency { get; init; }
    public int InFlight { get; init; }
    public double? TokensPerSecond { get; init; }
    public DateTimeOffset RegisteredAt { get; init; }
    public DateTimeOffset LastHeartbeat { get; init; }
    public DateTimeOffset? CooldownUntil { get; init; }
    public long TasksSucceeded { get; init; }
    public long TasksFailed { get; init; }
    public HostInfo? Host { get; init; }
    public string? Version { get; init; }
    /// <summary>Measured speed per model, learned from completion reports (empty until the worker finished a task).</summary>
    public IReadOnlyList<ModelSpeed> Speeds { get; init; } = [];
    /// <summary>The budget windows from the worker's last heartbeat.</summary>
    public IReadOnlyList<BudgetWindow> Budget { get; init; } = [];
    /// <summary>The worker must wait for its budget until then (no task is handed to it before).</summary>
    public DateTimeOffset? BudgetReadyAt { get; init; }
}

/// <summary>What the orchestrator learned of one worker's speed on one model (moving averages of completed tasks).</summary>
public sealed record ModelSpeed(string Model, double TokensPerSecond, double TimeToFirstTokenMs, long Samples);

/// <summary>Counters for /api/stats.</summary>
public sealed record StatsView
{
    public required IReadOnlyDictionary<string, long> Tasks { get; init; }
    /// <summary>Queued tasks that no registered worker could ever serve.</summary>
    public long Unroutable { get; init; }
    public required IReadOnlyDictionary<string, long> Workers { get; init; }
    public long TokensReported { get; init; }
    public DateTimeOffset Now { get; init; }
    /// <summary>The scheduler in use: fifo or fastest.</summary>
    public string? Scheduler { get; init; }
    /// <summary>Expected seconds until the queued and running work is done at the fleet's measured speed; null when no
    /// worker that could run it has been measured yet.</summary>
    public double? DrainSeconds { get; init; }
    /// <summary>Speculative copies started (a task also run on a faster idle worker near the end of a batch) and how many of them won.</summary>
    public long Speculations { get; init; }
    public long SpeculationsWon { get; init; }
    /// <summary>OpenAI-compatible calls (<c>/v1/chat/completions</c>) open now, and those whose task still waits for a worker.</summary>
    public GatewayCalls? Gateway { get; init; }
}

/// <summary>Open OpenAI-compatible calls: in flight, and queued (their task not yet on a worker).</summary>
public sealed record GatewayCalls(int InFlight, int Queued);
