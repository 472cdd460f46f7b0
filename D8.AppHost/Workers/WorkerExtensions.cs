using D8.AppHost.Ollama;
using D8.AppHost.Publishing.Compose;
using D8.Contracts;
using Microsoft.Extensions.Configuration;

namespace D8.AppHost.Workers;

/// <summary>Adds D8.Worker project resources wired to the orchestrator, a provider and its secrets.</summary>
public static class WorkerExtensions
{
    /// <summary>The image every worker service uses: the local name `d8 images` builds, optionally behind a registry prefix.</summary>
    public const string WorkerImage = "${D8_REGISTRY:-}d8-worker:${D8_TAG:-latest}";

    /// <summary>Where the compose worker finds the host's name (its default worker name is provider-hostname).</summary>
    public const string HostNameFile = "/etc/d8-host-name";

    /// <summary>The secret parameter holding a cloud provider's API key (groq-api-key, …); null when it needs none.</summary>
    public static string? KeyParameter(this ProviderInfo provider) => provider.NeedsApiKey ? $"{provider.WorkerName}-api-key" : null;

    /// <summary>Adds one worker of the given provider (<see cref="ProviderCatalog"/>).</summary>
    public static IResourceBuilder<ProjectResource> AddD8Worker(
        this IDistributedApplicationBuilder builder,
        ProviderInfo kind,
        IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> joinToken,
        IResourceBuilder<OllamaModelResource>? model = null)
    {
        var worker = builder.AddProject<Projects.D8_Worker>(kind.Profile)
            .WithEnvironment("D8_PROVIDER", kind.Name)
            .WithEnvironment("D8_WORKER_NAME", builder.ExecutionContext.IsPublishMode ? "" : kind.Profile)
            // Several Pis join one fleet: in compose the name is a variable; empty means "<provider>-<host name>".
            .WithComposeVariable("D8_WORKER_NAME", "D8_WORKER_NAME",
                "Name this host's workers register with. Empty: <provider>-<host name> (e.g. ollama-pi-kitchen), so several Pis are told apart.")
            .WithEnvironment("D8_ORCHESTRATOR_URL", orchestrator.GetEndpoint("http"))
            .WithEnvironment("D8_JOIN_TOKEN", joinToken)
            .WithHttpHealthCheck("/health")
            .WithComposeVariable("D8_ORCHESTRATOR_URL", "D8_ORCHESTRATOR_URL",
                "Orchestrator the workers join. Keep the default when the orchestrator runs in the same compose project; on a Pi or cloud host point it at the remote orchestrator, e.g. https://192.168.1.10:8080, with the pinned D8_JOIN_TOKEN.")
            .PublishAsComposeService(WorkerImage, [kind.Profile, "full-system"], ["CMD", "/app/D8.Worker", "health"], 8080);

        if (builder.ExecutionContext.IsRunMode)
        {
            // Workers start only once the orchestrator serves; in compose each profile must start on its own.
            worker.WaitFor(orchestrator);
            // Every worker comes from the same project, whose launch profile fixes one port (5090): left as is, all
            // workers would share one proxy port, one URL in the dashboard and one target for every health check.
            worker.WithEndpoint("http", endpoint => endpoint.Port = null);
        }

        if (builder.ExecutionContext.IsPublishMode)
        {
            worker.WithEnvironment("D8_HOST_NAME_FILE", HostNameFile)
                .WithAnnotation(new ContainerMountAnnotation("/etc/hostname", HostNameFile, ContainerMountType.BindMount, isReadOnly: true));
        }

        if (kind.KeyParameter() is { } keyParameter)
        {
            var key = builder.AddParameter(keyParameter, secret: true)
                .WithDescription($"{kind.Name} API key for {kind.Profile}.")
                .WithComposeName(kind.KeyVariable!, $"{kind.Name} API key (secret: set it here or in the shell, never commit it).");
            worker.WithEnvironment("D8_PROVIDER_API_KEY", key);
        }

        var baseUrl = builder.Configuration[$"Workers:{kind.WorkerName}:BaseUrl"];
        if (builder.ExecutionContext.IsPublishMode && model is null)
        {
            // Every cloud worker: provider URL and model by variable (empty: the provider's defaults; required for openai).
            var required = kind.HasDefaults ? " Empty: the provider's default." : $" Required for {kind.Profile}.";
            worker.WithEnvironment("D8_PROVIDER_BASE_URL", baseUrl ?? "")
                .WithComposeVariable("D8_PROVIDER_BASE_URL", $"{kind.VariablePrefix}_BASE_URL", $"Base URL of {kind.Profile}'s OpenAI-compatible API.{required}")
                .WithEnvironment("D8_MODEL", "")
                .WithComposeVariable("D8_MODEL", $"{kind.VariablePrefix}_MODEL", $"Model(s) of {kind.Profile}, comma-separated, the first is the default.{required}")
                .WithComposeLimits(kind.VariablePrefix + "_WORKER", "0.5", "256m", "A cloud worker only relays; 256m leaves room for the health probe, a second .NET process in the same container.");
        }
        else if (!string.IsNullOrWhiteSpace(baseUrl))
        {
            worker.WithEnvironment("D8_PROVIDER_BASE_URL", baseUrl);
        }

        if (model is not null)
        {
            worker.WithEnvironment("D8_OLLAMA_CONNECTION", model).WaitFor(model)
                .WithComposeLimits("WORKER_DEEPSEEK", "0.5", "256m", "4 GB Pi: 0.5 / 256m; 8 GB Pi: 1 / 512m.");
        }
        return worker;
    }
}
