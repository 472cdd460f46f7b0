namespace D8.Cli.Setup;

/// <summary>
/// The variable names a worker's <c>.env</c> carries, as docker-compose.generated.yml interpolates them.
/// Kept in this one place so aligning with the compose file is a one-file change.
/// </summary>
public static class WorkerEnvNames
{
    public const string OrchestratorUrl = "D8_ORCHESTRATOR_URL";
    public const string JoinToken = "D8_JOIN_TOKEN";
    public const string Provider = "D8_PROVIDER";
    public const string Model = "D8_MODEL";
    public const string WorkerName = "D8_WORKER_NAME";
    public const string ApiKey = "D8_PROVIDER_API_KEY";
    public const string BaseUrl = "D8_PROVIDER_BASE_URL";
    public const string OllamaUrl = "D8_OLLAMA_URL";

    /// <summary>Client API key (for d8 itself, not the worker); doctor checks it when present.</summary>
    public const string ClientApiKey = "D8_API_KEY";

    /// <summary>Variables whose values are secret: never printed.</summary>
    public static readonly IReadOnlySet<string> Secrets = new HashSet<string>(StringComparer.Ordinal)
    {
        JoinToken, ApiKey, ClientApiKey, "D8_API_KEYS", "GROQ_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY",
    };
}
