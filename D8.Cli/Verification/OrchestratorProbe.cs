using D8.Contracts;

namespace D8.Cli.Verification;

/// <summary>Side-effect-free checks of an orchestrator: reachable, join token accepted, API key accepted.</summary>
public static class OrchestratorProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>GET /health; the outcome, plus the server's clock when it answered.</summary>
    public static async Task<(Outcome Outcome, OrchestratorHealth? Health)> ReachableAsync(CliContext ctx, Uri url, CancellationToken ct)
    {
        var client = ctx.CreateOrchestratorClient(url, null, Timeout);
        try
        {
            var health = await client.GetHealthAsync(ct);
            return health.Healthy
                ? (Outcome.Pass($"orchestrator at {url} is healthy"), health)
                : (Outcome.Fail($"orchestrator at {url} answered {health.StatusCode} on /health",
                    "check the orchestrator's logs (docker compose logs orchestrator)"), health);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (Outcome.Fail($"cannot reach the orchestrator at {url}: {CliApp.FirstLine(e.Message)}",
                "check the URL and that the orchestrator runs and its port is open (docker compose --profile orchestrator up -d)"), null);
        }
    }

    /// <summary>GET /api/workers/join-check with the join token.</summary>
    public static async Task<Outcome> JoinTokenAsync(CliContext ctx, Uri url, string joinToken, CancellationToken ct)
    {
        var client = ctx.CreateOrchestratorClient(url, null, Timeout);
        client.JoinToken = joinToken;
        try
        {
            await client.CheckJoinTokenAsync(ct);
            return Outcome.Pass("join token accepted");
        }
        catch (OrchestratorException e) when ((int)e.Status is 401 or 403)
        {
            return Outcome.Fail("the orchestrator rejected the join token",
                "copy D8_JOIN_TOKEN exactly as set on the orchestrator host");
        }
        catch (OrchestratorException e) when ((int)e.Status == 404)
        {
            return Outcome.Warn("this orchestrator cannot check join tokens (no /api/workers/join-check)",
                "upgrade the orchestrator; the worker's log will show a 401 if the token is wrong");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OrchestratorException && !ct.IsCancellationRequested)
        {
            return Outcome.Fail("join token not checked: " + CliApp.FirstLine(e.Message), "make the orchestrator reachable first");
        }
    }

    /// <summary>GET /api/stats with the client API key.</summary>
    public static async Task<Outcome> ApiKeyAsync(CliContext ctx, Uri url, string apiKey, CancellationToken ct)
    {
        var client = ctx.CreateOrchestratorClient(url, apiKey, Timeout);
        try
        {
            await client.GetStatsAsync(ct);
            return Outcome.Pass("API key accepted");
        }
        catch (OrchestratorException e) when ((int)e.Status is 401 or 403)
        {
            return Outcome.Fail("the orchestrator rejected the API key", "use one of the keys in the orchestrator's D8_API_KEYS");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OrchestratorException && !ct.IsCancellationRequested)
        {
            return Outcome.Fail("API key not checked: " + CliApp.FirstLine(e.Message), "make the orchestrator reachable first");
        }
    }
}
