namespace D8.Contracts;

/// <summary>A provider's free-tier limits, which are a worker's default budgets (D8_RPM, D8_TPM, D8_RPD); 0: none.</summary>
/// <param name="Plan">Which free tier the figures are (the model and plan they were published for).</param>
public sealed record FreeTier(int RequestsPerMinute, int TokensPerMinute, int RequestsPerDay, string? Plan = null)
{
    /// <summary>No limits: a local model, or a server whose limits D8 cannot know.</summary>
    public static readonly FreeTier None = new(0, 0, 0);
}

/// <summary>
/// What D8 knows about one provider. The worker takes its defaults from here (endpoint, model, key variable, free-tier
/// budgets), the AppHost its worker resources and compose variables, <c>d8 setup worker</c> and <c>d8 doctor</c> what to
/// ask and check, and a test holds docs/workers-and-providers.md's tables to it.
/// </summary>
public sealed record ProviderInfo
{
    /// <summary>The wire name: D8_PROVIDER, a registration's and a task's provider (ollama, groq, gemini, openai).</summary>
    public required string Name { get; init; }

    /// <summary>Its worker's short name: the AppHost's Workers:Enabled entry and the compose service worker-{name}
    /// (deepseek for ollama, else the provider's name).</summary>
    public required string WorkerName { get; init; }

    /// <summary>How <c>d8 setup worker</c> offers it.</summary>
    public required string Title { get; init; }

    /// <summary>The model a worker serves when D8_MODEL is not set; null: D8_MODEL is required.</summary>
    public string? DefaultModel { get; init; }

    /// <summary>The endpoint a worker calls when none is set; null: D8_PROVIDER_BASE_URL is required.</summary>
    public Uri? DefaultBaseUrl { get; init; }

    /// <summary>The provider's usual variable for its API key (GROQ_API_KEY, …), read beside D8_PROVIDER_API_KEY; null: no key.</summary>
    public string? KeyVariable { get; init; }

    /// <summary>Where to create a key.</summary>
    public string? KeyUrl { get; init; }

    /// <summary>The free tier: a worker's default budgets.</summary>
    public FreeTier FreeTier { get; init; } = FreeTier.None;

    /// <summary>The compose variable holding this worker's model (D8_DEEPSEEK_MODEL, GROQ_MODEL, …).</summary>
    public required string ModelVariable { get; init; }

    /// <summary>The compose variable holding this worker's base URL (GROQ_BASE_URL, …); null: not configurable.</summary>
    public string? BaseUrlVariable { get; init; }

    /// <summary>Prefix of the worker service's cpus/mem_limit variables (GROQ_WORKER → GROQ_WORKER_CPUS); null for Ollama.</summary>
    public string? LimitPrefix { get; init; }

    /// <summary>A cloud provider: it needs an API key.</summary>
    public bool NeedsApiKey => KeyVariable is not null;

    /// <summary>A worker of it runs with nothing set but its key (openai needs a base URL and a model too).</summary>
    public bool HasDefaults => DefaultModel is not null && DefaultBaseUrl is not null;

    /// <summary>Its compose profile and AppHost resource: worker-deepseek, worker-groq, ….</summary>
    public string Profile => "worker-" + WorkerName;

    /// <summary>Prefix of its compose variables (GROQ → GROQ_BASE_URL, GROQ_MODEL).</summary>
    public string VariablePrefix => WorkerName.ToUpperInvariant();
}

/// <summary>The providers a worker can run and a task can ask for: the one list of them.</summary>
public static class ProviderCatalog
{
    public static readonly ProviderInfo Ollama = new()
    {
        Name = "ollama", WorkerName = "deepseek", Title = "DeepSeek on Ollama (local, free, needs RAM)",
        DefaultModel = "deepseek-coder:1.3b", DefaultBaseUrl = new Uri("http://localhost:11434"),
        ModelVariable = "D8_DEEPSEEK_MODEL",
    };

    public static readonly ProviderInfo Groq = new()
    {
        Name = "groq", WorkerName = "groq", Title = "Groq (cloud, fast, free tier with limits)",
        DefaultModel = "llama-3.1-8b-instant", DefaultBaseUrl = new Uri("https://api.groq.com/openai/v1"),
        KeyVariable = "GROQ_API_KEY", KeyUrl = "https://console.groq.com/keys",
        FreeTier = new(30, 6000, 14400, "llama-3.1-8b-instant free tier"),
        ModelVariable = "GROQ_MODEL", BaseUrlVariable = "GROQ_BASE_URL", LimitPrefix = "GROQ_WORKER",
    };

    public static readonly ProviderInfo Gemini = new()
    {
        Name = "gemini", WorkerName = "gemini", Title = "Gemini (cloud, free tier with daily limits)",
        DefaultModel = "gemini-2.5-flash", DefaultBaseUrl = new Uri("https://generativelanguage.googleapis.com/v1beta/openai/"),
        KeyVariable = "GEMINI_API_KEY", KeyUrl = "https://aistudio.google.com/apikey",
        FreeTier = new(5, 250000, 20, "2.5 Flash free tier"),
        ModelVariable = "GEMINI_MODEL", BaseUrlVariable = "GEMINI_BASE_URL", LimitPrefix = "GEMINI_WORKER",
    };

    public static readonly ProviderInfo OpenAi = new()
    {
        Name = "openai", WorkerName = "openai", Title = "Other OpenAI-compatible server",
        KeyVariable = "OPENAI_API_KEY",
        ModelVariable = "OPENAI_MODEL", BaseUrlVariable = "OPENAI_BASE_URL", LimitPrefix = "OPENAI_WORKER",
    };

    /// <summary>Every provider, in the order docs and prompts list them.</summary>
    public static IReadOnlyList<ProviderInfo> All { get; } = [Ollama, Groq, Gemini, OpenAi];

    /// <summary>Every provider's wire name.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(p => p.Name)];

    /// <summary>"ollama, groq, gemini, openai" for messages.</summary>
    public static string NameList => string.Join(", ", Names);

    /// <summary>The provider of this wire name (case-insensitive); null for one D8 does not know.</summary>
    public static ProviderInfo? Find(string? name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>True for a known provider (case-insensitive).</summary>
    public static bool IsKnown(string? name) => Find(name) is not null;
}
