using Microsoft.Extensions.Diagnostics.HealthChecks;
using OllamaSharp;

namespace D8.AppHost.Ollama;

/// <summary>Healthy only when the Ollama server can show the model (POST /api/show), i.e. after the pull finished.</summary>
internal sealed class OllamaModelHealthCheck(OllamaModelResource model) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var client = await OllamaModelPuller.CreateClientAsync(model, cancellationToken).ConfigureAwait(false);
            var info = await client.ShowModelAsync(model.ModelName, cancellationToken).ConfigureAwait(false);
            return info is null
                ? HealthCheckResult.Unhealthy($"Ollama does not know model {model.ModelName} yet.")
                : HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Model {model.ModelName} is not available: {ex.Message}", ex);
        }
    }
}
