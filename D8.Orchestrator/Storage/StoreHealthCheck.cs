using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace D8.Orchestrator.Storage;

/// <summary>/health is unhealthy while the store cannot commit: the orchestrator then acknowledges nothing.</summary>
public sealed class StoreHealthCheck(ITaskStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.Problem is { } problem
            ? HealthCheckResult.Unhealthy("Task store: " + problem)
            : HealthCheckResult.Healthy("Task store commits."));
}
