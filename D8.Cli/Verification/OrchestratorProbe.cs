using D8.Contracts;
using D8.Contracts.Trust;

namespace D8.Cli.Verification;

/// <summary>Side-effect-free checks of an orchestrator: reachable, join token accepted, API key accepted.</summary>
public static class OrchestratorProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>GET /health; the outcome, plus the server's clock when it answered.</summary>
    public static async Task<(Outcome Outcome, OrchestratorHealth? Health)> ReachableAsync(CliContext ctx, Uri url, CancellationToken ct, string? pin = null)
    {
        var client = ctx.CreateOrchestratorClient(url, null, Timeout, pin, healthOnly: true);
        try
        {
            var health = await client.GetHealthAsync(ct);
            return health.Healthy
                ? (Outcome.Pass($"orchestrator at {url} is healthy"), health)
                : (Outcome.Fail($"orchestrator at {url} answered {health.StatusCode} on /health",
                    "check the orchestrator's logs (docker compose logs orchestrator)"), health);
        }
        catch (HttpRequestException e) when (PinnedTrust.Explain(e, url) is { } trust)
        {
            return (Refused(trust), null);
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
        if (!D8.Contracts.Trust.JoinToken.TryParse(joinToken, out var parsed, out var error))
        {
            return Outcome.Fail(error, "copy the whole token the orchestrator wrote (D8.Orchestrator join-token)");
        }
        if (parsed.IsPinned && url.Scheme == Uri.UriSchemeHttp)
        {
            return Outcome.Fail($"{url} is plain HTTP but the join token pins the orchestrator's certificate", "use https:// (same host and port)");
        }
        if (PlainHttp.Refusal(url, ctx.PlainHttpAllowed) is { } refusal) return Outcome.Fail("join token not sent: " + refusal, PlainHttpFix);
        var client = new OrchestratorClient(ctx.CreateOrchestratorClient(url, null, Timeout, parsed.Pin).Http) { JoinToken = joinToken };
        try
        {
            await client.CheckJoinTokenAsync(ct);
            return Outcome.Pass(parsed.IsPinned ? $"join token accepted; certificate checked against the pinned CA sha256:{D8.Contracts.Trust.JoinToken.Short(parsed.Pin)}" : "join token accepted");
        }
        catch (HttpRequestException e) when (PinnedTrust.Explain(e, url) is { } trust)
        {
            return Refused(trust);
        }
        catch (PlainHttpRefusedException e)
        {
            return Outcome.Fail("join token not sent: " + e.Message, PlainHttpFix);
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

    private const string PlainHttpFix = "use https:// and the pinned join token; set D8_ALLOW_PLAINTEXT=true only on a network you trust";

    /// <summary>A refused certificate: one line per kind (wrong pin, foreign, expired, no TLS).</summary>
    private static Outcome Refused(TrustFailureException trust) =>
        Outcome.Fail($"the orchestrator's certificate was refused ({trust.Failure}): {trust.Message}",
            "nothing secret was sent; get the current token on the orchestrator host (D8.Orchestrator join-token)");

    /// <summary>GET /api/stats with the client API key.</summary>
    public static async Task<Outcome> ApiKeyAsync(CliContext ctx, Uri url, string apiKey, CancellationToken ct, string? pin = null)
    {
        if (pin is not null && url.Scheme == Uri.UriSchemeHttp)
        {
            return Outcome.Fail($"{url} is plain HTTP but the join token pins the orchestrator's certificate", "use https:// (same host and port)");
        }
        if (PlainHttp.Refusal(url, ctx.PlainHttpAllowed) is { } refusal) return Outcome.Fail("API key not sent: " + refusal, PlainHttpFix);
        var client = ctx.CreateOrchestratorClient(url, apiKey, Timeout, pin);
        try
        {
            await client.GetStatsAsync(ct);
            return Outcome.Pass("API key accepted");
        }
        catch (PlainHttpRefusedException e)
        {
            return Outcome.Fail("API key not sent: " + e.Message, PlainHttpFix);
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
