namespace D8.Orchestrator.Security;

/// <summary>The three credentials the orchestrator accepts, as authentication schemes and authorization policies.</summary>
public static class AuthSchemes
{
    /// <summary>Client API key: Authorization: Bearer &lt;key&gt; or X-Api-Key.</summary>
    public const string ApiKey = "ApiKey";

    /// <summary>Shared join token, only for POST /api/workers.</summary>
    public const string JoinToken = "JoinToken";

    /// <summary>Per-worker token handed out by registration.</summary>
    public const string WorkerToken = "WorkerToken";

    /// <summary>A worker's own token, or an operator's API key (DELETE /api/workers/{id}: leave, or revoke).</summary>
    public const string WorkerOrApiKey = "WorkerOrApiKey";

    /// <summary>Claim carrying the authenticated worker's id.</summary>
    public const string WorkerIdClaim = "d8:worker";
}
