using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>Aspire-style defaults shared by every D8 service: telemetry, health checks, service discovery, resilience.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Health check endpoint answering readiness (every check).</summary>
    public const string HealthEndpointPath = "/health";

    /// <summary>Liveness endpoint answering only checks tagged "live".</summary>
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>Prometheus scrape endpoint (see <see cref="MapDefaultEndpoints"/> for when it is served).</summary>
    public const string PrometheusEndpointPath = "/metrics";

    /// <summary>Configuration key turning the Prometheus endpoint on (true) or off (false).</summary>
    public const string PrometheusSetting = "D8_PROMETHEUS";

    /// <summary>Adds OpenTelemetry, default health checks, service discovery and resilient HTTP clients.</summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="useStandardResilience">
    /// Add the standard resilience handler to every HttpClient. Services whose own protocol already owns retries
    /// (the worker's provider calls) pass false and add it per client instead.
    /// </param>
    /// <param name="prometheusByDefault">
    /// Whether /metrics is served when D8_PROMETHEUS is unset (pass what the app gives <see cref="MapDefaultEndpoints"/>).
    /// Metrics are collected only when something reads them: /metrics served, or an OTLP endpoint set.
    /// </param>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, bool useStandardResilience = true, bool prometheusByDefault = true)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry(prometheusByDefault);
        builder.QuietRequestLogging();
        builder.AddStartupFailureLine();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            if (useStandardResilience)
            {
                http.AddStandardResilienceHandler();
            }
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>Logs, metrics and traces through OpenTelemetry; exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, bool prometheusByDefault = true)
        where TBuilder : IHostApplicationBuilder
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var prometheus = builder.Configuration.GetValue(PrometheusSetting, prometheusByDefault);

        if (MetricsAreRead(builder.Configuration, prometheusByDefault))
        {
            // Without a reader the instruments would still be aggregated in memory for nobody (idle worker RSS).
            builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation().AddMeter("D8.*");
                // Pull-based: costs nothing until /metrics is scraped.
                if (prometheus) metrics.AddPrometheusExporter();
            });
        }
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource("D8.*")
                .AddSource("Experimental.Microsoft.Extensions.AI*")
                .AddAspNetCoreInstrumentation(o => o.Filter = TraceFilter.ShouldTrace)
                .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = TraceFilter.ShouldTraceOutgoing));

        if (otlp)
        {
            // Logs through OpenTelemetry only when they are exported: the console has them anyway.
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>Whether anything reads metrics: /metrics served (D8_PROMETHEUS, else the app's default) or an OTLP endpoint set.</summary>
    public static bool MetricsAreRead(IConfiguration configuration, bool prometheusByDefault) =>
        configuration.GetValue(PrometheusSetting, prometheusByDefault)
        || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>A "self" liveness check tagged "live"; services add their own readiness checks.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Maps /health (all checks) and /alive (live checks), both anonymous and read-only, and /metrics (Prometheus text
    /// format) when D8_PROMETHEUS is true, or when it is unset and <paramref name="prometheusByDefault"/> is true. /metrics
    /// gets no AllowAnonymous: an app with a fallback policy (the orchestrator) asks for its usual credential.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, bool prometheusByDefault = false)
    {
        if (app.Configuration.GetValue(PrometheusSetting, prometheusByDefault))
        {
            app.MapPrometheusScrapingEndpoint(PrometheusEndpointPath);
        }
        app.MapHealthChecks(HealthEndpointPath).AllowAnonymous();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains("live"),
        }).AllowAnonymous();
        return app;
    }
}
