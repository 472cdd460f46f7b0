using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Providers.Ollama;
using D8.Worker.Providers.OpenAICompatible;

namespace D8.Worker.Providers;

/// <summary>Creates the provider the configuration names.</summary>
public static class ProviderFactory
{
    /// <summary>Name of the IHttpClientFactory client for provider calls (Ollama directly, OpenAI SDK as its transport).</summary>
    public const string ProviderHttpClient = "provider";

    /// <summary>Ollama for ollama; the OpenAI-compatible client for groq, gemini and openai.</summary>
    public static ChatProvider Create(WorkerOptions options, ILoggerFactory loggers, IHttpClientFactory? http = null) =>
        options.Provider == ProviderCatalog.Ollama
            ? new OllamaProvider(options, loggers, http?.CreateClient(ProviderHttpClient))
            : new OpenAICompatibleProvider(options, loggers, http?.CreateClient(ProviderHttpClient));
}
