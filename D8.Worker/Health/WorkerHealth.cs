namespace D8.Worker.Health;

/// <summary>What the worker knows about its own readiness; read by /health, the heartbeat and the lease slots.</summary>
public sealed class WorkerHealth
{
    private volatile string? _providerProblem = "provider not probed yet";
    private volatile bool _orchestratorReachable;
    private volatile bool _unauthorized;

    /// <summary>Null when the provider answers and the model is present; else why not.</summary>
    public string? ProviderProblem => _providerProblem;

    public bool OrchestratorReachable => _orchestratorReachable;

    /// <summary>True after a 401/403 from the provider, until a probe succeeds.</summary>
    public bool Unauthorized => _unauthorized;

    /// <summary>Tasks may be leased: the provider is ready and the key is accepted.</summary>
    public bool CanServe => _providerProblem is null && !_unauthorized;

    /// <summary>One short line for the heartbeat's status field and /health.</summary>
    public string Status => _unauthorized ? "provider rejected the API key (401/403)"
        : _providerProblem ?? (_orchestratorReachable ? "ready" : "orchestrator unreachable");

    public void SetProvider(string? problem) => _providerProblem = problem;

    public void SetOrchestratorReachable(bool reachable) => _orchestratorReachable = reachable;

    public void SetUnauthorized(bool unauthorized) => _unauthorized = unauthorized;
}
