using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace D8.Worker.Health;

/// <summary>/health: ready only when the orchestrator is reachable, the provider answers and the model is present.</summary>
public sealed class WorkerReadinessCheck(WorkerHealth health) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(health.CanServe && health.OrchestratorReachable
            ? HealthCheckResult.Healthy(health.Status)
            : HealthCheckResult.Unhealthy(health.Status));
}
