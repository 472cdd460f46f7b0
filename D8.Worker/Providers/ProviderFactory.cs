using D8.Worker.Configuration;
using D8.Worker.Providers.Ollama;
using D8.Worker.Providers.OpenAICompatible;

namespace D8.Worker.Providers;

/// <summary>Creates the provider the configuration names.</summary>
public static class ProviderFactory
{
    /// <summary>Ollama for ollama; the OpenAI-compatible client for groq, gemini and openai.</summary>
    public static ChatProvider Create(WorkerOptions options, ILoggerFactory loggers) => options.Provider switch
    {
        ProviderKind.Ollama => new OllamaProvider(options, loggers),
        _ => new OpenAICompatibleProvider(options, loggers),
    };
}
