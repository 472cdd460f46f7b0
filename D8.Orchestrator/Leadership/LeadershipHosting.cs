using D8.Orchestrator.Http;
using D8.Orchestrator.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace D8.Orchestrator.Leadership;

/// <summary>
/// The active orchestrator's side of the leader lease: renewal, the health check, the role headers and what happens
/// once the lease is lost (the process stops and exits with <see cref="DeposedExitCode"/>, so its supervisor starts it
/// again — as a standby).
/// </summary>
public static partial class LeadershipHosting
{
    /// <summary>The exit code of an orchestrator that lost the leader lease while active.</summary>
    public const int DeposedExitCode = 3;

    /// <summary>Registers the held lease: renewal, the write fence, the role headers, the "leader" health check.</summary>
    public static WebApplicationBuilder AddLeadership(this WebApplicationBuilder builder, LeaderLease lease)
    {
        builder.Services.AddSingleton(lease);
        // Every PostgreSQL write transaction checks this process still holds its term (registered before the store's default).
        builder.Services.AddSingleton<IWriteFence>(lease);
        builder.Services.AddHostedService<LeaderRenewal>();
        builder.Services.AddTransient<IStartupFilter, RoleGate>();
        builder.Services.AddHealthChecks().AddCheck<LeaderHealthCheck>("leader", tags: ["ready"]);
        return builder;
    }

    /// <summary>Renews the lease at a third of its length; a refused renewal, or none for a whole lease, deposes this process.</summary>
    private sealed partial class LeaderRenewal(LeaderLease lease, TimeProvider time, IHostApplicationLifetime lifetime,
        ILogger<LeaderRenewal> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            lease.Lost += reason =>
            {
                LogDeposed(reason);
                // Off the caller's thread: a fenced write raises this on the store's writer, and stopping runs callbacks.
                _ = Task.Run(lifetime.StopApplication, CancellationToken.None);
            };
            var options = lease.Options;
            LogActive(lease.Term, options.Holder, options.PublicUrl);
            var lastGood = time.GetTimestamp();
            while (!stoppingToken.IsCancellationRequested && !lease.Deposed)
            {
                try
                {
                    await Task.Delay(options.RenewInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var start = time.GetTimestamp();
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    timeout.CancelAfter(options.RenewInterval);
                    if (await lease.RenewAsync(timeout.Token))
                    {
                        lastGood = start;
                        continue;
                    }
                    lease.MarkDeposed($"another orchestrator took the leader lease (this one held term {lease.Term})");
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    // The database decides expiry: a lease not renewed for its whole length may have been taken already.
                    var silent = time.GetElapsedTime(lastGood);
                    LogRenewFailed(silent.TotalSeconds, e.Message);
                    if (silent >= options.LeaseDuration)
                    {
                        lease.MarkDeposed($"the leader lease could not be renewed for {silent.TotalSeconds:0.#} s ({e.Message})");
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Active: holding the leader lease, term {Term} ({Holder}, {Url})")]
        private partial void LogActive(long term, string holder, string url);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Leader lease not renewed for {Seconds:0.#} s: {Error}")]
        private partial void LogRenewFailed(double seconds, string error);

        [LoggerMessage(Level = LogLevel.Critical, Message = "Deposed: {Reason}. Stopping (exit code 3); started again, this orchestrator is a standby")]
        private partial void LogDeposed(string reason);
    }

    /// <summary>/health says "active (term N)"; unhealthy once deposed.</summary>
    private sealed class LeaderHealthCheck(LeaderLease lease) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lease.Deposed
                ? HealthCheckResult.Unhealthy($"Deposed: no longer holds the leader lease of term {lease.Term}.")
                : HealthCheckResult.Healthy($"Active: holds the leader lease, term {lease.Term}."));
    }

    /// <summary>
    /// Outermost middleware: names the role on every answer (<c>X-D8-Role</c>, <c>X-D8-Active</c>), and once deposed
    /// answers everything but /health and /alive with 503, as a standby does, while the process stops.
    /// </summary>
    private sealed class RoleGate(LeaderLease lease) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextStep) =>
            {
                var deposed = lease.Deposed;
                context.Response.Headers[StandbyServer.RoleHeader] = deposed ? "deposed" : "active";
                if (!deposed)
                {
                    context.Response.Headers[StandbyServer.ActiveHeader] = lease.Options.PublicUrl;
                }
                else if (!context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments("/alive"))
                {
                    context.Response.Headers.RetryAfter = "1";
                    await Problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Deposed",
                        "This orchestrator lost the leader lease and is stopping; another one is active.");
                    return;
                }
                await nextStep(context);
            });
            next(app);
        };
    }
}
