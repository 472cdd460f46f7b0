using System.Diagnostics.Metrics;
using D8.Contracts;
using D8.Contracts.Trust;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using D8.Worker.Health;
using D8.Worker.Loop;
using D8.Worker.Providers;
using D8.Worker.RateLimits;
using D8.Worker.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace D8.Worker.Hosting;

/// <summary>Wires the worker's services into the host.</summary>
public static class WorkerHostingExtensions
{
    /// <summary>Name of the IHttpClientFactory client that talks to the orchestrator.</summary>
    public const string OrchestratorHttpClient = "orchestrator";

    /// <summary>
    /// Validates the D8_* configuration and registers the worker: 0, or the exit code after one clear error line —
    /// <see cref="PlainHttp.ExitCode"/> (4) for credentials that would cross the network in clear. Invalid configuration
    /// throws the start-up refusal every D8 service uses (<see cref="SettingsReader.ThrowIfInvalid"/>: one line, exit code 2).
    /// </summary>
    public static int AddWorker(this WebApplicationBuilder builder)
    {
        var options = SettingsReader.Load(builder.Configuration, WorkerOptionsLoader.Load)
            ?? throw new InvalidOperationException("The worker's loader returns options whenever it reports no problem.");
        foreach (var url in options.OrchestratorUrls.DefaultIfEmpty(options.OrchestratorUrl))
        {
            if (PlainHttp.Refusal(url, options.AllowPlaintext) is { } refusal)
            {
                Console.Error.WriteLine("d8-worker: D8_ORCHESTRATOR_URL " + refusal + ".");
                return PlainHttp.ExitCode;
            }
        }

        builder.AddServiceDefaults(useStandardResilience: false, prometheusByDefault: false);
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddSource(WorkerTelemetry.Name, ChatProvider.GenAiSourceName));
        if (ServiceDefaultsExtensions.MetricsAreRead(builder.Configuration, prometheusByDefault: false))
        {
            telemetry.WithMetrics(m => m.AddMeter(WorkerTelemetry.Name, ChatProvider.GenAiSourceName)
                .AddInstrumentation(sp => new BudgetGauges(sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<ProviderBudget>(), options)));
        }
        // In-flight tasks get the grace period, then a few seconds to report and deregister.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(15));

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<WorkerHealth>();
        services.AddSingleton<WorkerTelemetry>();
        // HTTP clients come from IHttpClientFactory so ServiceDefaults' handlers (service discovery, OpenTelemetry)
        // reach them. Resilience is deliberately off for both (AddServiceDefaults(useStandardResilience: false)):
        // the worker's protocol owns retries — lease/heartbeat back off and re-register, reports retry until the lease
        // would expire, and a provider error becomes a failure kind the orchestrator retries; a hidden retry layer
        // would double them and could run a task twice. Pooled connections are recycled so DNS changes are seen.
        services.AddHttpClient(OrchestratorHttpClient, c =>
            {
                c.BaseAddress = new Uri(options.OrchestratorUrl.ToString().TrimEnd('/') + "/");
                // Above the 30 s lease long-poll.
                c.Timeout = TimeSpan.FromSeconds(60);
            })
            // A pinned join token: the orchestrator's chain must lead to the pinned CA before any request is sent;
            // a bare secret over https: the system's trust store, as any HttpClient.
            .ConfigurePrimaryHttpMessageHandler(sp => options.OrchestratorPin is { } pin
                ? new PinnedTrust(pin, sp.GetRequiredService<TimeProvider>()).CreateHandler()
                : new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            // Outermost: with several orchestrator URLs, each request goes to the active one (the guards see where).
            .AddHttpMessageHandler(() => new ActiveOrchestratorHandler(options.OrchestratorUrls.DefaultIfEmpty(options.OrchestratorUrl).ToList()))
            .AddHttpMessageHandler(sp => new OrchestratorTrustGuard(options, sp.GetRequiredService<IHostApplicationLifetime>(),
                sp.GetRequiredService<ILogger<OrchestratorTrustGuard>>()))
            // Inside the trust guard: refuses a credential over plain HTTP to a network address, names an http:// port that speaks TLS.
            .AddHttpMessageHandler(() => new PlainHttp.Guard(options.AllowPlaintext));
        services.AddHttpClient(ProviderFactory.ProviderHttpClient, c =>
            {
                c.BaseAddress = options.ProviderUrl;
                // No HttpClient timeout: long generations on a Pi are bounded by the per-call token instead.
                c.Timeout = Timeout.InfiniteTimeSpan;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton(sp => ProviderFactory.Create(options, sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<IHttpClientFactory>()));
        services.AddSingleton<TaskRunner>();
        services.AddSingleton<ProviderBudget>();
        services.AddSingleton(sp => new OrchestratorClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(OrchestratorHttpClient))
        { JoinToken = options.JoinToken });
        services.AddSingleton<OrchestratorSession>();
        services.AddHostedService<ProviderMonitor>();
        services.AddHostedService<WorkerLoop>();
        services.AddHealthChecks().AddCheck<WorkerReadinessCheck>("worker");
        return 0;
    }
}
