namespace D8.Worker.Configuration;

/// <summary>Validated worker settings, read once at start-up from the D8_* keys.</summary>
public sealed record WorkerOptions
{
    /// <summary>The first of <see cref="OrchestratorUrls"/>.</summary>
    public required Uri OrchestratorUrl { get; init; }
    /// <summary>Every orchestrator sharing one database (D8_ORCHESTRATOR_URL, comma-separated); the worker follows the active one.</summary>
    public IReadOnlyList<Uri> OrchestratorUrls { get; init; } = [];
    public required string JoinToken { get; init; }
    /// <summary>The CA fingerprint the join token pins (null: a bare secret, checked against the system's trust store on https).</summary>
    public string? OrchestratorPin { get; init; }
    /// <summary>D8_ALLOW_PLAINTEXT: send credentials over plain HTTP to a network address anyway (default false: refused, exit code 4).</summary>
    public bool AllowPlaintext { get; init; }
    public required string WorkerName { get; init; }
    /// <summary>The provider served (<see cref="D8.Contracts.ProviderCatalog"/>).</summary>
    public required D8.Contracts.ProviderInfo Provider { get; init; }
    /// <summary>Models this worker serves; the first is the default.</summary>
    public required IReadOnlyList<string> Models { get; init; }
    /// <summary>Ollama endpoint or OpenAI-compatible base URL.</summary>
    public required Uri ProviderUrl { get; init; }
    public string? ApiKey { get; init; }
    public required int Concurrency { get; init; }
    public required TimeSpan ShutdownGrace { get; init; }
    public required int RequestsPerMinute { get; init; }
    public required int TokensPerMinute { get; init; }
    public required int RequestsPerDay { get; init; }
    /// <summary>Divides the budget windows (a minute, a day) by this factor: for benchmarks that run time faster
    /// (D8_BUDGET_TIME_SCALE, default 1). Emulators given the same factor keep the ratios of a real run.</summary>
    public int BudgetTimeScale { get; init; } = 1;
    public required string OllamaKeepAlive { get; init; }
    public required bool PullModel { get; init; }
    public required TimeSpan RequestTimeout { get; init; }
    /// <summary>Task kinds advertised at registration (D8_TASK_KINDS); default: every kind a chat provider serves.</summary>
    public IReadOnlyList<string> TaskKinds { get; init; } = D8.Contracts.EvolutionTaskKinds.All;

    /// <summary>Lower-case provider name as the wire protocol spells it.</summary>
    public string ProviderName => Provider.Name;

    /// <summary>The model used when a task names none.</summary>
    public string DefaultModel => Models[0];
}
