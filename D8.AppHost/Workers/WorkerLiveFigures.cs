using System.Diagnostics;
using System.Globalization;
using D8.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Workers;

/// <summary>
/// A row under each worker in the dashboard whose state text is the worker's live figures as the orchestrator sees
/// them (tokens/s, in flight, cooldown, fleet state; model and counters as properties), refreshed every few seconds.
/// It runs nothing.
/// </summary>
public sealed class WorkerFiguresResource(string name, IResource parent) : Resource(name), IResourceWithParent
{
    /// <inheritdoc />
    public IResource Parent { get; } = parent;
}

/// <summary>Polls GET /api/workers with the client API key and publishes each worker's figures to its dashboard row.</summary>
public static class WorkerLiveFigures
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    /// <summary>Run mode only: adds a "&lt;worker&gt;-live" row under every worker and keeps it current.</summary>
    public static void AddWorkerLiveFigures(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey, IEnumerable<IResourceBuilder<ProjectResource>> workers)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        var rows = workers.Select(w => builder.AddResource(new WorkerFiguresResource($"{w.Resource.Name}-live", w.Resource))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "WorkerFigures",
                State = new ResourceStateSnapshot("Waiting for the worker to join", KnownResourceStateStyles.Info),
                Properties = [],
            }).Resource).ToList();
        if (rows.Count == 0) return;

        builder.Eventing.Subscribe<BeforeStartEvent>((evt, _ct) =>
        {
            var notifications = evt.Services.GetRequiredService<ResourceNotificationService>();
            var logger = evt.Services.GetRequiredService<ResourceLoggerService>().GetLogger(orchestrator.Resource);
            var time = evt.Services.GetService<TimeProvider>() ?? TimeProvider.System;
            var stopping = evt.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            // Runs for the AppHost's lifetime; it ends when the AppHost stops.
            _ = Task.Run(() => PollAsync(orchestrator.Resource, apiKey.Resource, rows, notifications, logger, time, stopping), stopping);
            return Task.CompletedTask;
        });
    }

    private static async Task PollAsync(ProjectResource orchestrator, ParameterResource apiKey, IReadOnlyList<WorkerFiguresResource> rows,
        ResourceNotificationService notifications, ILogger logger, TimeProvider time, CancellationToken ct)
    {
        try
        {
            await notifications.WaitForResourceHealthyAsync(orchestrator.Name, ct).ConfigureAwait(false);
            using var http = new HttpClient { BaseAddress = new Uri(orchestrator.GetEndpoint("http").Url), Timeout = TimeSpan.FromSeconds(10) };
            // A W3C "not sampled" parent: the orchestrator records no trace for this poll (it would be one every 3 s).
            http.DefaultRequestHeaders.Add("traceparent", $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00");
            var client = new OrchestratorClient(http) { ApiKey = await apiKey.GetValueAsync(ct).ConfigureAwait(false) };
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                IReadOnlyList<WorkerView> fleet;
                try
                {
                    fleet = await client.GetWorkersAsync(ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or OrchestratorException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    logger.LogDebug("Worker figures not refreshed: {Error}", ex.Message);
                    continue;
                }
                foreach (var row in rows)
                {
                    var view = fleet.Where(w => w.Name == row.Parent.Name && w.State != WorkerState.Gone).MaxBy(w => w.LastHeartbeat);
                    await notifications.PublishUpdateAsync(row, s => s with
                    {
                        State = Describe(view, time.GetUtcNow()),
                        Properties = Properties(view),
                    }).ConfigureAwait(false);
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }

    /// <summary>
    /// One short line of words and whole numbers, because the dashboard's state column is narrow and shows a custom state
    /// without punctuation ("54.2 tok/s" would read "54 2 tok s"): "54 tps · 1 of 4 busy" (tps: tokens per second), then "cooldown 20
    /// sec" or the worker's health problem; the fleet state first when it is not online. Exact figures are properties.
    /// </summary>
    public static ResourceStateSnapshot Describe(WorkerView? view, DateTimeOffset now)
    {
        if (view is null) return new("Not registered with the orchestrator", KnownResourceStateStyles.Info);
        var parts = new List<string>();
        if (view.State != WorkerState.Online) parts.Add(view.State.ToString().ToLowerInvariant());
        parts.Add(view.TokensPerSecond is { } tps ? string.Create(CultureInfo.InvariantCulture, $"{tps:F0} tps") : "no run yet");
        parts.Add($"{view.InFlight} of {view.MaxConcurrency} busy");
        var cooldown = view.CooldownUntil is { } until && until > now ? until - now : (TimeSpan?)null;
        if (cooldown is { } c) parts.Add(string.Create(CultureInfo.InvariantCulture, $"cooldown {c.TotalSeconds:F0} sec"));
        if (!view.Healthy && view.Status is { Length: > 0 } status) parts.Add(status);
        var style = view.State != WorkerState.Online ? KnownResourceStateStyles.Error
            : cooldown is not null || !view.Healthy ? KnownResourceStateStyles.Warn
            : KnownResourceStateStyles.Success;
        return new(string.Join(" · ", parts), style);
    }

    private static System.Collections.Immutable.ImmutableArray<ResourcePropertySnapshot> Properties(WorkerView? view) => view is null ? [] :
    [
        new("d8.provider", view.Provider),
        new("d8.models", string.Join(", ", view.Models)),
        new("d8.state", view.State.ToString().ToLowerInvariant()),
        new("d8.tokens_per_second", view.TokensPerSecond?.ToString("F1", CultureInfo.InvariantCulture) ?? "–"),
        new("d8.in_flight", $"{view.InFlight}/{view.MaxConcurrency}"),
        new("d8.cooldown_until", view.CooldownUntil?.ToString("O", CultureInfo.InvariantCulture) ?? "–"),
        new("d8.tasks_succeeded", view.TasksSucceeded.ToString(CultureInfo.InvariantCulture)),
        new("d8.tasks_failed", view.TasksFailed.ToString(CultureInfo.InvariantCulture)),
        new("d8.status", view.Status ?? "–"),
    ];
}
