using D8.AppHost.Publishing.Compose;
using D8.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Orchestrator;

/// <summary>Adds the D8 orchestrator: SQLite kept across restarts, /health, OpenAPI link, a "submit a sample task" command.</summary>
public static class OrchestratorExtensions
{
    /// <summary>The orchestrator's compose image.</summary>
    public const string OrchestratorImage = "${D8_REGISTRY:-}d8-orchestrator:${D8_TAG:-latest}";

    /// <summary>Where the database lives inside the container (the app user's home, so the volume is writable by the non-root user).</summary>
    public const string ContainerDataDirectory = "/home/app";

    /// <summary>Configuration key of the folder holding the orchestrator's SQLite database in run mode (default D8.AppHost/.d8-data).</summary>
    public const string DataDirectoryKey = "Orchestrator:DataDirectory";

    /// <summary>Adds the orchestrator project with its secrets.</summary>
    public static IResourceBuilder<ProjectResource> AddD8Orchestrator(this IDistributedApplicationBuilder builder,
        IResourceBuilder<ParameterResource> joinToken, IResourceBuilder<ParameterResource> apiKey)
    {
        var dbPath = builder.ExecutionContext.IsPublishMode
            ? $"{ContainerDataDirectory}/d8.db"
            // Kept next to the AppHost (gitignored) so queued tasks survive an AppHost restart; tests pass their own
            // Orchestrator:DataDirectory so they never touch a developer's fleet and queue.
            : Path.Combine(builder.Configuration[DataDirectoryKey] is { Length: > 0 } dir ? dir : Path.Combine(builder.AppHostDirectory, ".d8-data"), "d8.db");
        if (builder.ExecutionContext.IsRunMode)
        {
            // Created only when the app starts, so building the model (as tests do) leaves the disk alone.
            builder.Eventing.Subscribe<BeforeStartEvent>((_, _) =>
            {
                Directory.CreateDirectory(Path.GetDirectoryName(dbPath)!);
                return Task.CompletedTask;
            });
        }

        var orchestrator = builder.AddProject<Projects.D8_Orchestrator>("orchestrator")
            .WithEnvironment("D8_JOIN_TOKEN", joinToken)
            .WithEnvironment("D8_API_KEYS", apiKey)
            .WithEnvironment("D8_DB_PATH", dbPath)
            // docker compose stops every service at once: the orchestrator keeps serving until workers stopped with it
            // have reported their tasks and deregistered (at most 35 s, inside the 45 s stop_grace_period).
            .WithEnvironment(ctx => { if (builder.ExecutionContext.IsPublishMode) ctx.EnvironmentVariables["D8_STOP_WAIT_SECONDS"] = "35"; })
            // Compose deployments serve HTTPS with the orchestrator's own CA (workers join with the pinned token);
            // run mode stays plain HTTP on loopback (the orchestrator decides that from its addresses).
            .WithEnvironment(ctx => { if (builder.ExecutionContext.IsPublishMode) ctx.EnvironmentVariables["D8_TLS"] = "true"; })
            .WithComposeVariable("D8_TLS", "D8_TLS",
                "HTTPS with the orchestrator's own CA (workers join with the pinned token it writes: docker compose exec orchestrator /app/D8.Orchestrator join-token). false: plain HTTP, readable by anyone on the network.")
            .WithHttpHealthCheck("/health")
            .WithUrlForEndpoint("http", url => url.DisplayText = "Orchestrator")
            .WithUrls(AddOpenApiLink)
            .WithAnnotation(new ContainerMountAnnotation("orchestrator-data", ContainerDataDirectory, ContainerMountType.Volume, isReadOnly: false))
            .WithComposeLimits("ORCHESTRATOR", "1", "384m", "SQLite and a few hundred workers fit in 384m; raise both on a busy cloud host.")
            .PublishAsComposeService(OrchestratorImage, ["orchestrator", "full-system", StandbyExtensions.Profile], ["CMD", "/app/D8.Orchestrator", "health"], 8080);

        if (builder.ExecutionContext.IsRunMode)
        {
            // The base URL to give OpenAI clients (their base_url), printed once the orchestrator answers.
            builder.Eventing.Subscribe<ResourceReadyEvent>(orchestrator.Resource, (e, _) =>
            {
                e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("D8.AppHost").LogInformation(
                    "OpenAI-compatible API: {BaseUrl} (base_url for OpenAI clients; api_key: the api-key parameter)",
                    OpenAiBaseUrl(orchestrator.Resource));
                return Task.CompletedTask;
            });
        }

        return orchestrator.WithCommand("submit-sample-task", "Submit a sample task", ctx => SubmitSampleAsync(orchestrator.Resource, apiKey.Resource, ctx),
            new CommandOptions { IconName = "Send", Description = "Submits 'Write hello world in Python' and shows the task id." });
    }

    /// <summary>The orchestrator's OpenAI-compatible base URL (<c>…/v1</c>), once its endpoint is allocated.</summary>
    public static string OpenAiBaseUrl(ProjectResource orchestrator) => orchestrator.GetEndpoint("http").Url.TrimEnd('/') + "/v1";

    private static void AddOpenApiLink(ResourceUrlsCallbackContext context)
    {
        var http = context.Urls.FirstOrDefault(u => u.Endpoint?.EndpointName == "http");
        if (http is not null)
        {
            context.Urls.Add(new ResourceUrlAnnotation { Url = http.Url.TrimEnd('/') + "/openapi/v1.json", DisplayText = "OpenAPI", Endpoint = http.Endpoint });
            context.Urls.Add(new ResourceUrlAnnotation { Url = http.Url.TrimEnd('/') + "/v1", DisplayText = "OpenAI base URL (/v1)", Endpoint = http.Endpoint });
        }
    }

    private static async Task<ExecuteCommandResult> SubmitSampleAsync(ProjectResource orchestrator, ParameterResource apiKey, ExecuteCommandContext ctx)
    {
        var baseUrl = orchestrator.GetEndpoint("http").Url;
        var factory = ctx.Services.GetService<IHttpClientFactory>();
        using var http = factory?.CreateClient() ?? new HttpClient();
        http.BaseAddress = new Uri(baseUrl);
        var client = new OrchestratorClient(http) { ApiKey = await apiKey.GetValueAsync(ctx.CancellationToken).ConfigureAwait(false) };
        try
        {
            var submitted = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "Write hello world in Python." }, ctx.CancellationToken).ConfigureAwait(false);
            return CommandResults.Success($"Submitted task {submitted.Id} ({submitted.State}).");
        }
        catch (Exception ex) when (ex is HttpRequestException or OrchestratorException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }
}
