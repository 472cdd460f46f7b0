using D8.AppHost.Configuration;
using D8.AppHost.Publishing.Compose;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Ollama;

/// <summary>Chooses how DeepSeek is served from configuration (Ollama:Mode, Ollama:Url, Ollama:Model, Ollama:Gpu).</summary>
public static class DeepSeekSetup
{
    /// <summary>Default model: small enough for a 4 GB Raspberry Pi.</summary>
    public static readonly string DefaultModel = D8.Contracts.ProviderCatalog.Ollama.DefaultModel!;

    /// <summary>
    /// Adds Ollama and the DeepSeek model resource in the configured mode (auto by default, resolved by probing the
    /// machine; the choice is logged in one line and shown on the `ollama` resource); null when no Ollama is used.
    /// </summary>
    public static async Task<IResourceBuilder<OllamaModelResource>?> AddDeepSeekModelAsync(this IDistributedApplicationBuilder builder, ILogger log, CancellationToken ct)
    {
        var config = builder.Configuration;
        var modelName = config["Ollama:Model"] is { Length: > 0 } m ? m : DefaultModel;
        // The compose file always describes the Ollama container; the mode only changes `dotnet run`.
        var requested = builder.ExecutionContext.IsPublishMode ? OllamaMode.Container : ParseMode(config["Ollama:Mode"]);
        var url = ParseUrl(config["Ollama:Url"] ?? OllamaModeDetector.DefaultUrl, requested);
        var choice = await ResolveAsync(builder, requested, url, ct).ConfigureAwait(false);
        if (builder.ExecutionContext.IsRunMode)
        {
            log.LogInformation("Ollama: {Mode} ({Reason}).", choice.Mode.ToString().ToLowerInvariant(), choice.Reason);
        }

        IResourceBuilder<OllamaModelResource>? model = choice.Mode switch
        {
            OllamaMode.Container => AddContainer(builder, config)
                // The URL's text is where the dashboard shows why the container runs (it owns a container's state text).
                .WithUrlForEndpoint(OllamaResource.HttpEndpointName, u => u.DisplayText = requested == OllamaMode.Auto ? "Ollama API (auto: container runtime answered)" : "Ollama API")
                .AddModel("deepseek", modelName),
            OllamaMode.External => builder.AddExternalOllama("ollama", url, choice.Reason).AddModel("deepseek", modelName),
            _ => null,
        };
        if (model is null && requested == OllamaMode.Auto)
        {
            // Nothing runs, but the dashboard still says why there is no DeepSeek worker.
            builder.AddResource(new OllamaNotUsedResource("ollama")).WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Ollama",
                State = new ResourceStateSnapshot("Not used: no container runtime, no local Ollama", KnownResourceStateStyles.Warn),
                Properties = [new("ollama.mode", $"auto → none ({choice.Reason})")],
            });
        }
        return model?.WithComposeName("D8_DEEPSEEK_MODEL",
            $"Ollama model of worker-deepseek. {DefaultModel} fits a 4 GB Pi; deepseek-coder:6.7b needs an 8 GB Pi.", DefaultModel);
    }

    private static async Task<OllamaChoice> ResolveAsync(IDistributedApplicationBuilder builder, OllamaMode requested, Uri url, CancellationToken ct)
    {
        var config = builder.Configuration;
        switch (requested)
        {
            case OllamaMode.Auto:
                return await OllamaModeDetector.ChooseAsync(config, url, ct).ConfigureAwait(false);
            case OllamaMode.Container when builder.ExecutionContext.IsRunMode:
                var runtime = OllamaModeDetector.RuntimeOf(config);
                if (!await OllamaModeDetector.RuntimeAnswersAsync(runtime, ct).ConfigureAwait(false))
                {
                    throw new AppHostSetupException(
                        $"Ollama:Mode is 'container' but no container runtime answers ('{runtime} info' failed).\n" +
                        "Start Docker (or Podman), or run with --Ollama:Mode=auto (default), --Ollama:Mode=external --Ollama:Url=http://localhost:11434, or --Ollama:Mode=none.");
                }
                return new(OllamaMode.Container, $"Ollama:Mode=container; {runtime} answers");
            default:
                return new(requested, $"Ollama:Mode={requested.ToString().ToLowerInvariant()}");
        }
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
        null or "" or "auto" => OllamaMode.Auto,
        "container" => OllamaMode.Container,
        "external" => OllamaMode.External,
        "none" => OllamaMode.None,
        _ => throw new AppHostSetupException($"Ollama:Mode '{value}' is not valid. Use auto (default), container, external or none, e.g. --Ollama:Mode=none."),
    };

    private static Uri ParseUrl(string value, OllamaMode mode) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? url
            : throw new AppHostSetupException($"Ollama:Mode is '{mode.ToString().ToLowerInvariant()}' but Ollama:Url '{value}' is not an http(s) URL. Example: --Ollama:Url=http://localhost:11434");
}

/// <summary>Stands in the dashboard for an Ollama that auto mode could not find; it runs nothing.</summary>
public sealed class OllamaNotUsedResource(string name) : Resource(name);
