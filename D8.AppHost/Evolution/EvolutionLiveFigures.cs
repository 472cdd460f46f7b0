using System.Globalization;
using D8.AppHost.Dashboard;
using D8.Contracts;

namespace D8.AppHost.Evolution;

/// <summary>
/// The "evolution-live" dashboard row under the orchestrator: the newest prompt-evolution run's progress, refreshed every
/// few seconds from GET /api/evolutions?limit=1.
/// </summary>
public static class EvolutionLiveFigures
{
    /// <summary>The row's resource name.</summary>
    public const string ResourceName = "evolution-live";

    /// <summary>Run mode only: adds the "evolution-live" row under the orchestrator and keeps it current.</summary>
    public static void AddEvolutionLiveFigures(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        var row = builder.AddLiveRow(ResourceName, orchestrator.Resource, "Evolution", "No evolution run yet");
        builder.PollOrchestrator(orchestrator, apiKey, "Evolution", async (client, notifications, _, ct) =>
        {
            var runs = await client.ListEvolutionsAsync(1, ct).ConfigureAwait(false);
            if (runs.FirstOrDefault() is not { } newest) return;
            await notifications.PublishUpdateAsync(row, s => s with { State = Describe(newest), Properties = Properties(newest) }).ConfigureAwait(false);
        });
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
            new("d8.evolution.selection", run.Selection),
            new("d8.evolution.front_size", run.FrontSize?.ToString(CultureInfo.InvariantCulture) ?? "–"),
            new("d8.evolution.minibatch_rejections", run.MinibatchRejections.ToString(CultureInfo.InvariantCulture)),
            new("d8.evolution.cache_hits", run.CacheHits.ToString(CultureInfo.InvariantCulture)),
            new("d8.evolution.best_validation", F(run.Best?.ValidationFitness)),
            new("d8.evolution.unroutable", run.Unroutable is { Count: > 0 } u ? string.Join("; ", u.Select(w => $"{w.Tasks} tasks: {w.Reason}")) : "–"),
        ];
    }
}
