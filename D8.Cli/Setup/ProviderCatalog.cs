namespace D8.Cli.Setup;

/// <summary>What d8 knows about one provider: default model, endpoint, compose profile, and the .env names of its key and model (null: the compose file fixes it).</summary>
public sealed record ProviderInfo(
    string Name,
    string Title,
    string DefaultModel,
    Uri? DefaultBaseUrl,
    string Profile,
    bool NeedsApiKey,
    string? KeyUrl,
    string? KeyVariable,
    string? ModelVariable)
{
    /// <summary>The compose variable holding this provider's base URL (GROQ_BASE_URL, …); null: not configurable.</summary>
    public string? BaseUrlVariable { get; init; }

    /// <summary>Prefix of the worker service's cpus/mem_limit variables (GROQ_WORKER → GROQ_WORKER_CPUS); null for Ollama.</summary>
    public string? LimitPrefix { get; init; }
}

/// <summary>The providers a worker can use.</summary>
public static class ProviderCatalog
{
    public static readonly ProviderInfo Ollama = new("ollama", "DeepSeek on Ollama (local, free, needs RAM)",
        "deepseek-coder:1.3b", null, "worker-deepseek", false, null, null, WorkerEnvNames.DeepSeekModel);

    public static readonly ProviderInfo Groq = new("groq", "Groq (cloud, fast, free tier with limits)",
        "llama-3.1-8b-instant", new Uri("https://api.groq.com/openai/v1/"), "worker-groq", true,
        "https://console.groq.com/keys", "GROQ_API_KEY", "GROQ_MODEL") { BaseUrlVariable = "GROQ_BASE_URL", LimitPrefix = "GROQ_WORKER" };

    public static readonly ProviderInfo Gemini = new("gemini", "Gemini (cloud, free tier with daily limits)",
        "gemini-2.5-flash", new Uri("https://generativelanguage.googleapis.com/v1beta/openai/"), "worker-gemini", true,
        "https://aistudio.google.com/apikey", "GEMINI_API_KEY", "GEMINI_MODEL") { BaseUrlVariable = "GEMINI_BASE_URL", LimitPrefix = "GEMINI_WORKER" };

    public static readonly ProviderInfo OpenAi = new("openai", "Other OpenAI-compatible server",
        "", null, "worker-openai", true, null, "OPENAI_API_KEY", "OPENAI_MODEL") { BaseUrlVariable = "OPENAI_BASE_URL", LimitPrefix = "OPENAI_WORKER" };

    public static IReadOnlyList<ProviderInfo> All { get; } = [Ollama, Groq, Gemini, OpenAi];

    /// <summary>Finds a provider by name; "deepseek" is accepted for ollama.</summary>
    public static ProviderInfo Find(string name)
    {
        var key = name.Trim().ToLowerInvariant();
        if (key == "deepseek") key = "ollama";
        return All.FirstOrDefault(p => p.Name == key)
            ?? throw new CliException($"unknown provider '{name}': use one of ollama (deepseek), groq, gemini, openai");
    }
}
