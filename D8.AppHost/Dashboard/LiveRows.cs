using System.Diagnostics;
using D8.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Dashboard;

/// <summary>A dashboard row under another resource whose state text shows live figures from the orchestrator. It runs nothing.</summary>
public sealed class LiveRowResource(string name, IResource parent) : Resource(name), IResourceWithParent
{
    /// <inheritdoc />
    public IResource Parent { get; } = parent;
}

/// <summary>
/// What the worker and evolution rows share: the row resources, and one loop per feature for the AppHost's lifetime
/// that waits for the orchestrator to be healthy, then asks it (with the client API key) every few seconds and lets
/// the feature publish what it read. A failed poll is logged at Debug and tried again on the next tick.
/// </summary>
public static class LiveRows
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    /// <summary>Adds a row under <paramref name="parent"/> with its type and first state.</summary>
    public static LiveRowResource AddLiveRow(this IDistributedApplicationBuilder builder, string name, IResource parent,
        string resourceType, string initialState) =>
        builder.AddResource(new LiveRowResource(name, parent))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = resourceType,
                State = new ResourceStateSnapshot(initialState, KnownResourceStateStyles.Info),
                Properties = [],
            }).Resource;

    /// <summary>
    /// Starts, before the app starts, the loop that calls <paramref name="refresh"/> every few seconds once the
    /// orchestrator is healthy; <paramref name="what"/> names the figures in the Debug line of a failed poll.
    /// </summary>
    public static void PollOrchestrator(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey, string what,
        Func<OrchestratorClient, ResourceNotificationService, TimeProvider, CancellationToken, Task> refresh)
    {
        builder.Eventing.Subscribe<BeforeStartEvent>((evt, _ct) =>
        {
            var notifications = evt.Services.GetRequiredService<ResourceNotificationService>();
            var logger = evt.Services.GetRequiredService<ResourceLoggerService>().GetLogger(orchestrator.Resource);
            var time = evt.Services.GetService<TimeProvider>() ?? TimeProvider.System;
            var stopping = evt.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            // Runs for the AppHost's lifetime; it ends when the AppHost stops.
            _ = Task.Run(() => PollAsync(orchestrator.Resource, apiKey.Resource, what, refresh, notifications, logger, time, stopping), stopping);
            return Task.CompletedTask;
        });
    }

    private static async Task PollAsync(ProjectResource orchestrator, ParameterResource apiKey, string what,
        Func<OrchestratorClient, ResourceNotificationService, TimeProvider, CancellationToken, Task> refresh,
        ResourceNotificationService notifications, ILogger logger, TimeProvider time, CancellationToken ct)
    {
        try
        {
            await notifications.WaitForResourceHealthyAsync(orchestrator.Name, ct).ConfigureAwait(false);
            using var http = new HttpClient { BaseAddress = new Uri(orchestrator.GetEndpoint("http").Url), Timeout = TimeSpan.FromSeconds(10) };
            // A W3C "not sampled" parent: the orchestrator records no trace for these polls (one every 3 s).
            http.DefaultRequestHeaders.Add("traceparent", $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00");
            var client = new OrchestratorClient(http) { ApiKey = await apiKey.GetValueAsync(ct).ConfigureAwait(false) };
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                try
                {
                    await refresh(client, notifications, time, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or OrchestratorException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    logger.LogDebug("{What} figures not refreshed: {Error}", what, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }
}
