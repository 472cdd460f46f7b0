using D8.Contracts;
using D8.Orchestrator.Batches;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Evolution;
using D8.Orchestrator.Gateway;
using D8.Orchestrator.Hosting;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Security;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Streaming;
using D8.Orchestrator.Tasks;
using D8.Orchestrator.Telemetry;
using D8.Orchestrator.Tls;
using D8.Orchestrator.Workers;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Authentication;
using OpenTelemetry.Metrics;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the orchestrator: options, store, engine, auth, problem details, OpenAPI.</summary>
public static partial class OrchestratorHostingExtensions
{
    /// <summary>Adds every orchestrator service; reads and validates the D8_* configuration (throws with a clear message).</summary>
    public static WebApplicationBuilder AddOrchestrator(this WebApplicationBuilder builder)
    {
        var warnings = new List<string>();
        // Every D8_* key is read and checked before anything is written (the lock, TLS files, the database): one line
        // names every bad key, whichever part of the orchestrator it belongs to.
        var settings = new SettingsReader(builder.Configuration);
        var options = OrchestratorOptions.Load(settings, builder.Environment.IsDevelopment(), warnings);
        var tlsOptions = TlsOptions.Load(settings, options.DbPath);
        var failureLimit = FailureLimitOptions.Load(settings);
        var gatewayOptions = GatewayOptions.Load(settings);
        var batchOptions = BatchOptions.Load(settings, options.DbPath);
        var streamLimits = TaskStreamLimits.Load(settings);
        settings.ThrowIfInvalid();
        var services = builder.Services;
        services.AddSingleton(options);
        // Before anything is written there (TLS files, the database): a writable folder, one orchestrator per file.
        var dataLock = DataFolderLock.Acquire(options.DbPath);
        services.AddSingleton(_ => dataLock);
        builder.AddOrchestratorTls(tlsOptions, options, warnings);
        services.AddSingleton(failureLimit);
        services.AddOpenAiGateway(gatewayOptions);
        services.AddSingleton<FailedCredentialLimiter>();
        services.TryAddSingleton(TimeProvider.System);
        builder.AddOrchestratorStore(options);
        services.AddSingleton<OrchestratorTelemetry>();
        services.AddSingleton(new TaskStreamHub(streamLimits));
        services.AddOpenTelemetry().WithMetrics(m => m.AddInstrumentation(sp => new FleetGauges(
            sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<SchedulingEngine>(), sp.GetRequiredService<TimeProvider>())));
        services.AddSingleton<SchedulingEngine>(sp =>
        {
            var engine = new SchedulingEngine(
                sp.GetRequiredService<ITaskStore>(), options, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<OrchestratorTelemetry>(), sp.GetRequiredService<ILogger<SchedulingEngine>>());
            engine.StreamEnded += sp.GetRequiredService<TaskStreamHub>().End;
            return engine;
        });
        // Worker tokens are checked against the fleet's credentials (kept by the engine's worker registry), not the engine.
        services.AddSingleton(sp => sp.GetRequiredService<SchedulingEngine>().Credentials);
        services.AddHostedService(sp => new StartupLog(sp.GetRequiredService<SchedulingEngine>(), sp.GetRequiredService<DataFolderLock>(), warnings,
            sp.GetRequiredService<ILogger<StartupLog>>()));
        services.AddHostedService<EngineSweeper>();
        services.AddSingleton(sp => new EvolutionStore(sp.GetRequiredService<IStoreDatabase>(), sp.GetRequiredService<IWriteFence>()));
        services.AddSingleton<EvolutionTelemetry>();
        services.AddSingleton<EvolutionService>();
        services.AddHostedService(sp => sp.GetRequiredService<EvolutionService>());
        services.AddHostedService<EvolutionRetention>();
        services.AddBatches(options, batchOptions);
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);

        services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, D8JsonContext.Default);
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
        });

        services.AddSingleton<CredentialHashes>();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, CredentialHandler>(AuthSchemes.ApiKey, null)
            .AddScheme<AuthenticationSchemeOptions, CredentialHandler>(AuthSchemes.JoinToken, null)
            .AddScheme<AuthenticationSchemeOptions, CredentialHandler>(AuthSchemes.WorkerToken, null)
            .AddScheme<AuthenticationSchemeOptions, CredentialHandler>(AuthSchemes.WorkerOrApiKey, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AuthSchemes.ApiKey, p => p.AddAuthenticationSchemes(AuthSchemes.ApiKey).RequireAuthenticatedUser())
            .AddPolicy(AuthSchemes.JoinToken, p => p.AddAuthenticationSchemes(AuthSchemes.JoinToken).RequireAuthenticatedUser())
            .AddPolicy(AuthSchemes.WorkerToken, p => p.AddAuthenticationSchemes(AuthSchemes.WorkerToken).RequireAuthenticatedUser())
            .AddPolicy(AuthSchemes.WorkerOrApiKey, p => p.AddAuthenticationSchemes(AuthSchemes.WorkerOrApiKey).RequireAuthenticatedUser())
            // Anything not explicitly anonymous (health, OpenAPI) needs at least an API key, unknown routes included.
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(AuthSchemes.ApiKey)
                .RequireAuthenticatedUser().Build());

        services.AddD8ProblemDetails();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddTransient<IStartupFilter, ProblemPipeline>();
        services.AddOpenApi();
        return builder;
    }

    /// <summary>Maps every orchestrator route: health, client API, worker protocol, join check, OpenAPI.</summary>
    public static WebApplication MapOrchestrator(this WebApplication app)
    {
        // /metrics on by default here, behind the API key like every non-health route.
        app.MapDefaultEndpoints(prometheusByDefault: true);
        app.MapTasksApi();
        app.MapTaskReportsApi();
        app.MapTaskRelayApi();
        app.MapWorkersApi();
        app.MapJoinCheckApi();
        app.MapEvolutionsApi();
        app.MapBatchApi();
        app.MapTlsApi();
        app.MapOpenAiGateway();
        return app.MapOrchestratorOpenApi();
    }

    /// <summary>Serves the OpenAPI document at /openapi/v1.json without credentials.</summary>
    public static WebApplication MapOrchestratorOpenApi(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        return app;
    }

    private static void TryAddSingleton<T>(this IServiceCollection services, T instance) where T : class
    {
        if (!services.Any(d => d.ServiceType == typeof(T)))
        {
            services.AddSingleton(instance);
        }
    }

    /// <summary>Outermost middleware: exceptions and bare error statuses (404, 405…) become problem details.</summary>
    private sealed class ProblemPipeline : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseExceptionHandler();
            app.UseStatusCodePages(async ctx =>
            {
                var status = ctx.HttpContext.Response.StatusCode;
                await Problems.WriteAsync(ctx.HttpContext, status, Problems.TitleOf(status),
                    $"{ctx.HttpContext.Request.Method} {ctx.HttpContext.Request.Path} answered {status}.");
            });
            next(app);
        };
    }

    /// <summary>Loads the engine (so a broken store fails start-up) and logs configuration warnings.</summary>
    private sealed partial class StartupLog(SchedulingEngine engine, DataFolderLock dataLock, IReadOnlyList<string> warnings,
        ILogger<StartupLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Resolved here so the container owns the lock and releases it when the app is disposed.
            GC.KeepAlive(dataLock);
            GC.KeepAlive(engine);
            foreach (var warning in warnings)
            {
                LogWarning(warning);
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
        private partial void LogWarning(string warning);
    }
}
