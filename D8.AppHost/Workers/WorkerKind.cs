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

    /// <summary>Every worker kind, in the default order.</summary>
    public static IReadOnlyList<WorkerKind> All { get; } = [DeepSeek, Groq, Gemini];

    /// <summary>The AppHost resource name (worker-deepseek, …).</summary>
    public string ResourceName => $"worker-{Name}";
}
