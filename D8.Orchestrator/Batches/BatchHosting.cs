using D8.Orchestrator.Configuration;
using D8.Orchestrator.Files;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Batches;

/// <summary>Registers and maps the Batch API (<c>/v1/files</c>, <c>/v1/batches</c>).</summary>
public static class BatchHosting
{
    /// <summary>With the validated batch settings: registers the store, the writer and the service.</summary>
    public static IServiceCollection AddBatches(this IServiceCollection services, OrchestratorOptions options, BatchOptions batchOptions)
    {
        services.AddSingleton(batchOptions);
        services.AddSingleton(sp => new BatchStore(sp.GetRequiredService<IStoreDatabase>(), batchOptions.FilesPath, sp.GetRequiredService<IWriteFence>()));
        services.AddSingleton<BatchResultWriter>();
        services.AddSingleton<BatchTelemetry>();
        services.AddSingleton(sp => new BatchService(sp.GetRequiredService<BatchStore>(), sp.GetRequiredService<BatchResultWriter>(),
            sp.GetRequiredService<SchedulingEngine>(), sp.GetRequiredService<D8.Orchestrator.Gateway.ModelCatalog>(), options, batchOptions, sp.GetRequiredService<BatchTelemetry>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<BatchService>());
        return services;
    }

    public static IEndpointRouteBuilder MapBatchApi(this IEndpointRouteBuilder app) => app.MapFilesApi().MapBatchesApi();
}
