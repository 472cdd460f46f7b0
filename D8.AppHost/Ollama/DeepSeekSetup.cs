using D8.AppHost.Publishing.Compose;
using Microsoft.Extensions.Configuration;

namespace D8.AppHost.Ollama;

/// <summary>Chooses how DeepSeek is served from configuration (Ollama:Mode, Ollama:Url, Ollama:Model, Ollama:Gpu).</summary>
public static class DeepSeekSetup
{
    /// <summary>Default model: small enough for a 4 GB Raspberry Pi.</summary>
    public const string DefaultModel = "deepseek-coder:1.3b";

    /// <summary>Adds Ollama and the DeepSeek model resource in the configured mode; null when Ollama:Mode is none.</summary>
    public static IResourceBuilder<OllamaModelResource>? AddDeepSeekModel(this IDistributedApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var modelName = config["Ollama:Model"] is { Length: > 0 } m ? m : DefaultModel;
        // The compose file always describes the Ollama container; the mode only changes `dotnet run`.
        var mode = builder.ExecutionContext.IsPublishMode ? OllamaMode.Container : ParseMode(config["Ollama:Mode"]);

        IResourceBuilder<OllamaModelResource>? model = mode switch
        {
            OllamaMode.Container => AddContainer(builder, config).AddModel("deepseek", modelName),
            OllamaMode.External => builder.AddExternalOllama("ollama", ParseUrl(config["Ollama:Url"])).AddModel("deepseek", modelName),
            _ => null,
        };
        return model?.WithComposeName("D8_DEEPSEEK_MODEL",
            $"Ollama model of worker-deepseek. {DefaultModel} fits a 4 GB Pi; deepseek-coder:6.7b needs an 8 GB Pi.", DefaultModel);
    }

    private static IResourceBuilder<OllamaResource> AddContainer(IDistributedApplicationBuilder builder, IConfiguration config)
    {
        var ollama = builder.AddOllama("ollama")
            .WithDataVolume("ollama-models")
            .WithComposeLimits("OLLAMA", "3", "2500m", "4 GB Pi: 3 CPUs / 2500m; 8 GB Pi: 4 / 6g.")
            .PublishAsComposeService($"{OllamaExtensions.Image}:{OllamaExtensions.ImageTag}", ["worker-deepseek", "full-system"], ["CMD", "ollama", "list"])
            // Published on loopback only, so `d8 ollama list|pull` and `d8 doctor` on the Pi reach it (never the LAN).
            .WithAnnotation(new ComposeHostPortAnnotation("OLLAMA_PORT", "Host port (on 127.0.0.1 only) where `d8 ollama` and `d8 doctor` reach the Ollama container.", "11434", 11434, LoopbackOnly: true));
        if (config.GetValue("Ollama:Gpu", false))
        {
            ollama.WithGpuSupport();
        }
        return ollama;
    }

    private static OllamaMode ParseMode(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "container" => OllamaMode.Container,
        "external" => OllamaMode.External,
        "none" => OllamaMode.None,
        _ => throw new InvalidOperationException($"Ollama:Mode '{value}' is not valid. Use container, external or none."),
    };

    private static Uri ParseUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? url
            : throw new InvalidOperationException($"Ollama:Mode is 'external' but Ollama:Url '{value}' is not an http(s) URL. Example: --Ollama:Url=http://localhost:11434");
}
