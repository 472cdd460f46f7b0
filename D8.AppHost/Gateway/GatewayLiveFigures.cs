using System.Globalization;
using D8.AppHost.Dashboard;
using D8.Contracts;

namespace D8.AppHost.Gateway;

/// <summary>
/// The "openai-live" dashboard row under the orchestrator: OpenAI-compatible calls (<c>/v1/chat/completions</c>) open
/// now and how many of them still wait for a worker, refreshed every few seconds from GET /api/stats.
/// </summary>
public static class GatewayLiveFigures
{
    /// <summary>The row's resource name.</summary>
    public const string ResourceName = "openai-live";

    /// <summary>Run mode only: adds the "openai-live" row under the orchestrator and keeps it current.</summary>
    public static void AddGatewayLiveFigures(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        var row = builder.AddLiveRow(ResourceName, orchestrator.Resource, "OpenAiCalls", "No OpenAI call yet");
        builder.PollOrchestrator(orchestrator, apiKey, "OpenAiCalls", async (client, notifications, _, ct) =>
        {
            var stats = await client.GetStatsAsync(ct).ConfigureAwait(false);
            if (stats.Gateway is not { } calls) return;
            await notifications.PublishUpdateAsync(row, s => s with
            {
                State = Describe(calls),
                Properties =
                [
                    new("d8.openai.in_flight", calls.InFlight.ToString(CultureInfo.InvariantCulture)),
                    new("d8.openai.queued", calls.Queued.ToString(CultureInfo.InvariantCulture)),
                ],
            }).ConfigureAwait(false);
        });
    }

    /// <summary>Words and whole numbers (the dashboard drops punctuation): "3 calls in flight · 2 queued" (amber while any wait).</summary>
    public static ResourceStateSnapshot Describe(GatewayCalls calls) => new(
        $"{calls.InFlight} calls in flight · {calls.Queued} queued",
        calls.Queued > 0 ? KnownResourceStateStyles.Warn : KnownResourceStateStyles.Info);
}
