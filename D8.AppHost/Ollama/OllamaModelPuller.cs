using System.Globalization;
using Microsoft.Extensions.Logging;
using OllamaSharp;

namespace D8.AppHost.Ollama;

/// <summary>Pulls a model once its Ollama server answers and publishes the download progress as the model's dashboard state.</summary>
internal static class OllamaModelPuller
{
    /// <summary>Creates a client for the model's server (the URL is resolved now: endpoints exist only after start).</summary>
    public static async Task<OllamaApiClient> CreateClientAsync(OllamaModelResource model, CancellationToken ct)
    {
        var url = await model.Parent.EndpointExpression.GetValueAsync(ct).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The Ollama endpoint of '{model.Name}' has no value.");
        // Pulls of multi-GB models take long; the per-request timeout must not cut them off.
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
        return new OllamaApiClient(http, model.ModelName);
    }

    /// <summary>Waits for the server, pulls the model unless present, then reports Running (health then checks /api/show).</summary>
    public static async Task PullAsync(OllamaModelResource model, ResourceNotificationService notifications, ILogger logger, CancellationToken ct)
    {
        await Publish(notifications, model, new ResourceStateSnapshot("Waiting for Ollama", KnownResourceStateStyles.Info)).ConfigureAwait(false);
        if (model.Parent is OllamaResource)
        {
            await notifications.WaitForResourceHealthyAsync(model.Parent.Name, ct).ConfigureAwait(false);
        }

        using var client = await CreateClientAsync(model, ct).ConfigureAwait(false);
        try
        {
            if (!await IsInstalledAsync(client, model.ModelName, ct).ConfigureAwait(false))
            {
                await PullWithProgressAsync(client, model, notifications, ct).ConfigureAwait(false);
            }
            await Publish(notifications, model, new ResourceStateSnapshot(KnownResourceStates.Running, KnownResourceStateStyles.Success)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or IOException)
        {
            logger.LogError(ex, "Pulling Ollama model {Model} failed", model.ModelName);
            await Publish(notifications, model, new ResourceStateSnapshot($"Pull failed: {ex.Message}", KnownResourceStateStyles.Error)).ConfigureAwait(false);
        }
    }

    /// <summary>Pulls the model, updating the dashboard state with the percentage downloaded.</summary>
    public static async Task PullWithProgressAsync(OllamaApiClient client, OllamaModelResource model, ResourceNotificationService notifications, CancellationToken ct)
    {
        var lastPercent = -1;
        await foreach (var progress in client.PullModelAsync(model.ModelName, ct).ConfigureAwait(false))
        {
            if (progress is null) continue;
            var percent = progress.Total > 0 ? (int)(progress.Completed * 100 / progress.Total) : 0;
            if (percent == lastPercent && progress.Total > 0) continue;
            lastPercent = percent;
            var text = progress.Total > 0
                ? string.Create(CultureInfo.InvariantCulture, $"Downloading {model.ModelName} {percent}%")
                : $"Pulling {model.ModelName}: {progress.Status}";
            await Publish(notifications, model, new ResourceStateSnapshot(text, KnownResourceStateStyles.Info)).ConfigureAwait(false);
            if (progress.Status is { } status && status.StartsWith("error", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(status);
            }
        }
    }

    /// <summary>True when the server lists the model (names compare with the implicit ":latest" tag).</summary>
    public static async Task<bool> IsInstalledAsync(OllamaApiClient client, string modelName, CancellationToken ct)
    {
        var models = await client.ListLocalModelsAsync(ct).ConfigureAwait(false);
        return models.Any(m => Normalize(m.Name) == Normalize(modelName));
    }

    private static string Normalize(string name) => name.Contains(':', StringComparison.Ordinal) ? name : name + ":latest";

    private static Task Publish(ResourceNotificationService notifications, OllamaModelResource model, ResourceStateSnapshot state) =>
        notifications.PublishUpdateAsync(model, s => s with { State = state });
}
