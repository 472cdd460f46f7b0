using System.Diagnostics;
using System.Globalization;
using D8.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Evolution;

/// <summary>A dashboard row under the orchestrator showing the newest prompt-evolution run. It runs nothing.</summary>
public sealed class EvolutionFiguresResource(string name, IResource parent) : Resource(name), IResourceWithParent
{
    /// <inheritdoc />
    public IResource Parent { get; } = parent;
}

/// <summary>Polls GET /api/evolutions with the client API key and publishes the newest run's progress to its dashboard row.</summary>
public static class EvolutionLiveFigures
{
    /// <summary>The row's resource name.</summary>
    public const string ResourceName = "evolution-live";

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    /// <summary>Run mode only: adds the "evolution-live" row under the orchestrator and keeps it current.</summary>
    public static void AddEvolutionLiveFigures(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        var row = builder.AddResource(new EvolutionFiguresResource(ResourceName, orchestrator.Resource))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "Evolution",
                State = new ResourceStateSnapshot("No evolution run yet", KnownResourceStateStyles.Info),
                Properties = [],
            }).Resource;
        builder.Eventing.Subscribe<BeforeStartEvent>((evt, _ct) =>
        {
            var notifications = evt.Services.GetRequiredService<ResourceNotificationService>();
            var logger = evt.Services.GetRequiredService<ResourceLoggerService>().GetLogger(orchestrator.Resource);
            var time = evt.Services.GetService<TimeProvider>() ?? TimeProvider.System;
            var stopping = evt.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            // Runs for the AppHost's lifetime; it ends when the AppHost stops.
            _ = Task.Run(() => PollAsync(orchestrator.Resource, apiKey.Resource, row, notifications, logger, time, stopping), stopping);
            return Task.CompletedTask;
        });
    }

    private static async Task PollAsync(ProjectResource orchestrator, ParameterResource apiKey, EvolutionFiguresResource row,
        ResourceNotificationService notifications, ILogger logger, TimeProvider time, CancellationToken ct)
    {
        try
        {
            await notifications.WaitForResourceHealthyAsync(orchestrator.Name, ct).ConfigureAwait(false);
            using var http = new HttpClient { BaseAddress = new Uri(orchestrator.GetEndpoint("http").Url), Timeout = TimeSpan.FromSeconds(10) };
            // A W3C "not sampled" parent: the orchestrator records no trace for this poll.
            http.DefaultRequestHeaders.Add("traceparent", $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00");
            var client = new OrchestratorClient(http) { ApiKey = await apiKey.GetValueAsync(ct).ConfigureAwait(false) };
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                IReadOnlyList<EvolutionView> runs;
                try
                {
                    runs = await client.ListEvolutionsAsync(1, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or OrchestratorException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    logger.LogDebug("Evolution figures not refreshed: {Error}", ex.Message);
                    continue;
                }
                var newest = runs.FirstOrDefault();
                if (newest is null) continue;
                await notifications.PublishUpdateAsync(row, s => s with { State = Describe(newest), Properties = Properties(newest) }).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The AppHost is stopping.
        }
    }

    /// <summary>
    /// Words and whole numbers only (the dashboard drops punctuation from a custom state): "running · gen 3 of 6 ·
    /// best 94 pct · 120 tasks", and "· waiting for a worker" (amber) while tasks in flight are unroutable. Exact figures
    /// are properties (d8.evolution.unroutable names what is waited for).
    /// </summary>
    public static ResourceStateSnapshot Describe(EvolutionView run)
    {
        var best = run.Best?.Fitness is { } f ? string.Create(CultureInfo.InvariantCulture, $"best {f * 100:F0} pct") : "no fitness yet";
        var text = $"{EvolutionStateNames.Of(run.State)} · gen {run.Generation + 1} of {run.Generations} · {best} · {run.TasksSubmitted} tasks";
        var waiting = run.Unroutable is { Count: > 0 };
        if (waiting) text += " · waiting for a worker";
        var style = run.State switch
        {
            EvolutionState.Running when waiting => KnownResourceStateStyles.Warn,
            EvolutionState.Running => KnownResourceStateStyles.Info,
            EvolutionState.Completed => KnownResourceStateStyles.Success,
            EvolutionState.Stopped => KnownResourceStateStyles.Warn,
            _ => KnownResourceStateStyles.Error,
        };
        return new(text, style);
    }

    private static System.Collections.Immutable.ImmutableArray<ResourcePropertySnapshot> Properties(EvolutionView run)
    {
        var latest = run.History.LastOrDefault(h => h.Evaluated > 0);
        static string F(double? v) => v?.ToString("0.000", CultureInfo.InvariantCulture) ?? "–";
        return
        [
            new("d8.evolution.id", run.Id),
            new("d8.evolution.name", run.Name ?? "–"),
            new("d8.evolution.state", EvolutionStateNames.Of(run.State)),
            new("d8.evolution.stop_reason", run.StopReason ?? "–"),
            new("d8.evolution.best", F(run.Best?.Fitness)),
            new("d8.evolution.best_prompt", run.Best?.Prompt ?? "–"),
            new("d8.evolution.best_by_generation", string.Join(" ", run.History.Select(h => F(h.Best)))),
            new("d8.evolution.mean", F(latest?.Mean)),
            new("d8.evolution.diversity", F(latest?.Diversity)),
            new("d8.evolution.tasks_in_flight", run.TasksInFlight.ToString(CultureInfo.InvariantCulture)),
            new("d8.evolution.tokens", run.TokensUsed.ToString(CultureInfo.InvariantCulture)),
            new("d8.evolution.unroutable", run.Unroutable is { Count: > 0 } u ? string.Join("; ", u.Select(w => $"{w.Tasks} tasks: {w.Reason}")) : "–"),
        ];
    }
}
