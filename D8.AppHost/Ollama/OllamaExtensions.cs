using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Ollama;

/// <summary>AddOllama / AddExternalOllama / AddModel: our Ollama integration in the Aspire style.</summary>
public static class OllamaExtensions
{
    /// <summary>The pinned ollama/ollama image tag (also used for the compose file).</summary>
    public const string ImageTag = "0.13.0";

    /// <summary>The ollama/ollama image name.</summary>
    public const string Image = "ollama/ollama";

    /// <summary>Adds the ollama/ollama container with its API on port 11434, healthy when GET / answers.</summary>
    public static IResourceBuilder<OllamaResource> AddOllama(this IDistributedApplicationBuilder builder, string name, int? port = null) =>
        builder.AddResource(new OllamaResource(name))
            .WithImage(Image, ImageTag)
            .WithImageRegistry("docker.io")
            .WithHttpEndpoint(port, OllamaResource.OllamaPort, OllamaResource.HttpEndpointName)
            .WithHttpHealthCheck("/");

    /// <summary>Keeps downloaded models in a named volume mounted at /root/.ollama.</summary>
    public static IResourceBuilder<OllamaResource> WithDataVolume(this IResourceBuilder<OllamaResource> builder, string? name = null) =>
        builder.WithVolume(name ?? $"{builder.Resource.Name}-models", "/root/.ollama");

    /// <summary>Gives the container every NVIDIA GPU (docker --gpus all; compose: a device reservation).</summary>
    public static IResourceBuilder<OllamaResource> WithGpuSupport(this IResourceBuilder<OllamaResource> builder) =>
        builder.WithContainerRuntimeArgs("--gpus", "all").WithAnnotation(new OllamaGpuAnnotation());

    /// <summary>Adds an Ollama that already runs at <paramref name="url"/>; the AppHost neither starts nor stops it.</summary>
    public static IResourceBuilder<ExternalOllamaResource> AddExternalOllama(this IDistributedApplicationBuilder builder, string name, Uri url, string? reason = null) =>
        builder.AddResource(new ExternalOllamaResource(name, url))
            .WithUrl(url.ToString(), "Ollama API")
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "ExternalOllama",
                // Must stay "Running": WaitFor(model) waits for the parent to enter Running. The mode is a property.
                State = KnownResourceStates.Running,
                Properties = [new("ollama.url", url.ToString()), new("ollama.mode", reason ?? "external")],
            });

    /// <summary>Adds a model on the Ollama server: pulled when the server is ready, healthy once /api/show knows it.</summary>
    public static IResourceBuilder<OllamaModelResource> AddModel<T>(this IResourceBuilder<T> server, string name, string modelName)
        where T : IOllamaServerResource
    {
        var builder = server.ApplicationBuilder;
        var model = new OllamaModelResource(name, modelName, server.Resource);
        var healthKey = $"{name}-ollama-model";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthKey, _ => new OllamaModelHealthCheck(model), null, null));

        var resource = builder.AddResource(model)
            .WithHealthCheck(healthKey)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "OllamaModel",
                State = KnownResourceStates.NotStarted,
                Properties = [new("ollama.model", modelName)],
            })
            .WithCommand("list-models", "List Ollama models", ListModelsAsync(model),
                new CommandOptions { IconName = "List", Description = "Lists the models installed on the Ollama server." })
            .WithCommand("re-pull", "Re-pull model", RePullAsync(model),
                new CommandOptions { IconName = "ArrowDownload", Description = "Pulls the model again (updates it)." });

        if (builder.ExecutionContext.IsRunMode)
        {
            // The pull runs in the background so the rest of the system starts; consumers WaitFor(model).
            builder.Eventing.Subscribe<BeforeStartEvent>((evt, ct) =>
            {
                var notifications = evt.Services.GetRequiredService<ResourceNotificationService>();
                var logger = evt.Services.GetRequiredService<ResourceLoggerService>().GetLogger(model);
                var stopping = evt.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
                _ = Task.Run(() => PullSafelyAsync(model, notifications, logger, stopping), stopping);
                return Task.CompletedTask;
            });
        }
        return resource;
    }

    private static async Task PullSafelyAsync(OllamaModelResource model, ResourceNotificationService notifications, ILogger logger, CancellationToken ct)
    {
        try
        {
            await OllamaModelPuller.PullAsync(model, notifications, logger, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }

    private static Func<ExecuteCommandContext, Task<ExecuteCommandResult>> ListModelsAsync(OllamaModelResource model) => async ctx =>
    {
        try
        {
            using var client = await OllamaModelPuller.CreateClientAsync(model, ctx.CancellationToken).ConfigureAwait(false);
            var models = await client.ListLocalModelsAsync(ctx.CancellationToken).ConfigureAwait(false);
            var text = new StringBuilder();
            foreach (var m in models)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{m.Name}  {m.Size / (1024.0 * 1024.0):F0} MiB");
            }
            return CommandResults.Success(text.Length == 0 ? "No models installed." : text.ToString());
        }
        catch (HttpRequestException ex)
        {
            return CommandResults.Failure(ex.Message);
        }
    };

    private static Func<ExecuteCommandContext, Task<ExecuteCommandResult>> RePullAsync(OllamaModelResource model) => async ctx =>
    {
        var notifications = ctx.Services.GetRequiredService<ResourceNotificationService>();
        try
        {
            using var client = await OllamaModelPuller.CreateClientAsync(model, ctx.CancellationToken).ConfigureAwait(false);
            await OllamaModelPuller.PullWithProgressAsync(client, model, notifications, ctx.CancellationToken).ConfigureAwait(false);
            await notifications.PublishUpdateAsync(model, s => s with { State = KnownResourceStates.Running }).ConfigureAwait(false);
            return CommandResults.Success();
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
        {
            return CommandResults.Failure(ex.Message);
        }
    };
}

/// <summary>Marks an Ollama container that should get the NVIDIA GPUs (the compose publisher emits a device reservation).</summary>
public sealed class OllamaGpuAnnotation : IResourceAnnotation;
