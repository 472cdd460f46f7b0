using System.Diagnostics.Metrics;
using D8.Contracts;
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
    /// <summary>Validates the D8_* configuration and registers the worker; false (after one clear error line) when invalid.</summary>
    public static bool AddWorker(this WebApplicationBuilder builder)
    {
        var (options, errors) = WorkerOptionsLoader.Load(builder.Configuration);
        if (options is null)
        {
            // One line, before logging exists: the container log shows exactly what to fix.
            Console.Error.WriteLine("d8-worker: invalid configuration: " + string.Join(" ", errors));
            return false;
        }

        builder.AddServiceDefaults(useStandardResilience: false);
        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddSource(WorkerTelemetry.Name, ChatProvider.GenAiSourceName))
            .WithMetrics(m => m.AddMeter(WorkerTelemetry.Name, ChatProvider.GenAiSourceName)
                .AddInstrumentation(sp => new BudgetGauges(sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<ProviderBudget>(), options)));
        // In-flight tasks get the grace period, then a few seconds to report and deregister.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(15));

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<WorkerHealth>();
        services.AddSingleton<WorkerTelemetry>();
        services.AddSingleton(sp => ProviderFactory.Create(options, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<TaskRunner>();
        services.AddSingleton<ProviderBudget>();
        services.AddSingleton(_ => new OrchestratorClient(new HttpClient
        {
            BaseAddress = new Uri(options.OrchestratorUrl.ToString().TrimEnd('/') + "/"),
            // Above the 30 s lease long-poll.
            Timeout = TimeSpan.FromSeconds(60),
        })
        { JoinToken = options.JoinToken });
        services.AddSingleton<OrchestratorSession>();
        services.AddHostedService<ProviderMonitor>();
        services.AddHostedService<WorkerLoop>();
        services.AddHealthChecks().AddCheck<WorkerReadinessCheck>("worker");
        return true;
    }
}
