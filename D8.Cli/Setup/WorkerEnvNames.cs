namespace D8.Cli.Setup;

/// <summary>
/// The variable names of the .env that docker-compose.generated.yml interpolates (see .env.example), kept in this
/// one place so aligning with the compose file is a one-file change. Provider keys are per provider: see
/// <see cref="D8.Contracts.ProviderInfo.KeyVariable"/>.
/// </summary>
public static class WorkerEnvNames
{
    public const string OrchestratorUrl = "D8_ORCHESTRATOR_URL";
    public const string JoinToken = "D8_JOIN_TOKEN";

    /// <summary>The Ollama model of worker-deepseek (and of the ollama-pull service).</summary>
    public static readonly string DeepSeekModel = D8.Contracts.ProviderCatalog.Ollama.ModelVariable;

    /// <summary>Resource limits of the Ollama and worker-deepseek containers, sized by RAM.</summary>
    public const string OllamaCpus = "OLLAMA_CPUS";
    public const string OllamaMemory = "OLLAMA_MEMORY";
    public const string WorkerDeepSeekCpus = "WORKER_DEEPSEEK_CPUS";
    public const string WorkerDeepSeekMemory = "WORKER_DEEPSEEK_MEMORY";

    /// <summary>Not read by the compose file: tells <c>d8 doctor</c> which worker this host runs.</summary>
    public const string Provider = "D8_PROVIDER";

    /// <summary>Worker model for a directly run worker (the compose file's cloud workers use their provider's default).</summary>
    public const string Model = "D8_MODEL";

    /// <summary>Provider endpoint override for a directly run worker.</summary>
    public const string BaseUrl = "D8_PROVIDER_BASE_URL";

    /// <summary>Generic provider key name the worker also accepts.</summary>
    public const string ProviderApiKey = "D8_PROVIDER_API_KEY";

    /// <summary>Client API key (for d8 itself, not the worker); doctor checks it when present.</summary>
    public const string ClientApiKey = "D8_API_KEY";

    /// <summary>Variables whose values are secret: never printed.</summary>
    public static readonly IReadOnlySet<string> Secrets = new HashSet<string>(StringComparer.Ordinal)
    {
        JoinToken, ProviderApiKey, ClientApiKey, "D8_API_KEYS", "GROQ_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY",
    };
}
