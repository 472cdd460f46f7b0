using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace D8.Orchestrator.Gateway;

/// <summary>Once the server listens, logs the OpenAI base URL(s) to point SDKs at: <c>&lt;address&gt;/v1</c>.</summary>
public sealed partial class GatewayStartupLog(IServer server, IHostApplicationLifetime lifetime, GatewayOptions options,
    ILogger<GatewayStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                LogBaseUrl(address.TrimEnd('/') + OpenAiGatewayApi.BasePath, options.MaxWait.TotalSeconds);
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information,
        Message = "OpenAI-compatible API at {BaseUrl} (base_url for OpenAI clients, API key as the client's api_key); calls wait up to {MaxWaitSeconds} s for a worker")]
    private partial void LogBaseUrl(string baseUrl, double maxWaitSeconds);
}
