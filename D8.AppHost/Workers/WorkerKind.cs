using D8.Contracts;

namespace D8.AppHost.Workers;

/// <summary>One kind of D8 worker the AppHost can run: its resource name, provider and key parameter.</summary>
/// <param name="Name">Short name used in Workers:Enabled (deepseek, groq, gemini).</param>
/// <param name="Provider">Value of D8_PROVIDER.</param>
/// <param name="KeyParameter">Secret parameter holding the provider API key; null when none is needed.</param>
/// <param name="KeyVariable">Compose variable for the key.</param>
public sealed record WorkerKind(string Name, string Provider, string? KeyParameter, string? KeyVariable)
{
    /// <summary>DeepSeek through Ollama (no key).</summary>
    public static readonly WorkerKind DeepSeek = new("deepseek", ProviderNames.Ollama, null, null);

    /// <summary>Groq's OpenAI-compatible endpoint.</summary>
    public static readonly WorkerKind Groq = new("groq", ProviderNames.Groq, "groq-api-key", "GROQ_API_KEY");

    /// <summary>Gemini's OpenAI-compatible endpoint.</summary>
    public static readonly WorkerKind Gemini = new("gemini", ProviderNames.Gemini, "gemini-api-key", "GEMINI_API_KEY");

    /// <summary>Any other OpenAI-compatible server: base URL and model are required (compose only; `d8 setup` offers it).</summary>
    public static readonly WorkerKind OpenAI = new("openai", "openai", "openai-api-key", "OPENAI_API_KEY");

    /// <summary>Every worker kind `dotnet run` can start, in the default order.</summary>
    public static IReadOnlyList<WorkerKind> All { get; } = [DeepSeek, Groq, Gemini];

    /// <summary>Every worker kind the compose file describes (All plus the generic OpenAI-compatible worker).</summary>
    public static IReadOnlyList<WorkerKind> Published { get; } = [DeepSeek, Groq, Gemini, OpenAI];

    /// <summary>Prefix of this kind's compose variables (GROQ_BASE_URL, GROQ_MODEL, …).</summary>
    public string VariablePrefix => Name.ToUpperInvariant();

    /// <summary>The AppHost resource name (worker-deepseek, …).</summary>
    public string ResourceName => $"worker-{Name}";
}
