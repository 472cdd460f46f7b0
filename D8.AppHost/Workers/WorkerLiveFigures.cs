using System.Globalization;
using D8.AppHost.Dashboard;
using D8.Contracts;

namespace D8.AppHost.Workers;

/// <summary>
/// A row under each worker in the dashboard ("&lt;worker&gt;-live") whose state text is the worker's live figures as the
/// orchestrator sees them (tokens/s, in flight, cooldown, fleet state; model and counters as properties), refreshed
/// every few seconds from GET /api/workers.
/// </summary>
public static class WorkerLiveFigures
{
    /// <summary>Run mode only: adds a "&lt;worker&gt;-live" row under every worker and keeps it current.</summary>
    public static void AddWorkerLiveFigures(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey, IEnumerable<IResourceBuilder<ProjectResource>> workers)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        var rows = workers.Select(w => builder.AddLiveRow($"{w.Resource.Name}-live", w.Resource, "WorkerFigures", "Waiting for the worker to join")).ToList();
        if (rows.Count == 0) return;
        builder.PollOrchestrator(orchestrator, apiKey, "Worker", async (client, notifications, time, ct) =>
        {
            var fleet = await client.GetWorkersAsync(ct).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var view = fleet.Where(w => w.Name == row.Parent.Name && w.State != WorkerState.Gone).MaxBy(w => w.LastHeartbeat);
                await notifications.PublishUpdateAsync(row, s => s with
                {
                    State = Describe(view, time.GetUtcNow()),
                    Properties = Properties(view),
                }).ConfigureAwait(false);
            }
        });
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
        if (view.State != WorkerState.Online) parts.Add(WireNames.Of(view.State));
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
        new("d8.state", WireNames.Of(view.State)),
        new("d8.tokens_per_second", view.TokensPerSecond?.ToString("F1", CultureInfo.InvariantCulture) ?? "–"),
        new("d8.in_flight", $"{view.InFlight}/{view.MaxConcurrency}"),
        new("d8.cooldown_until", view.CooldownUntil?.ToString("O", CultureInfo.InvariantCulture) ?? "–"),
        new("d8.tasks_succeeded", view.TasksSucceeded.ToString(CultureInfo.InvariantCulture)),
        new("d8.tasks_failed", view.TasksFailed.ToString(CultureInfo.InvariantCulture)),
        new("d8.status", view.Status ?? "–"),
    ];
}
