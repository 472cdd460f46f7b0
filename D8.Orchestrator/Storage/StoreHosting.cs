using D8.Orchestrator.Configuration;
using D8.Orchestrator.Storage.Postgres;
using Npgsql;

namespace D8.Orchestrator.Storage;

/// <summary>Registers the store D8_STORE names: the SQLite file, or PostgreSQL through the Aspire Npgsql client.</summary>
public static class StoreHosting
{
    /// <summary>The Aspire connection name of the orchestrator's PostgreSQL data source (its health check and traces carry it).</summary>
    public const string PostgresConnectionName = "d8";

    /// <summary>
    /// Adds <see cref="ITaskStore"/> (and, for PostgreSQL, the <see cref="NpgsqlDataSource"/> with Aspire's health check,
    /// traces and metrics). The schema is created or migrated when the store is first resolved, at start-up; a server
    /// that cannot be used then ends start-up with one line (<see cref="PostgresSchema.Migrate"/>).
    /// </summary>
    public static IHostApplicationBuilder AddOrchestratorStore(this IHostApplicationBuilder builder, OrchestratorOptions options)
    {
        var services = builder.Services;
        // The standby mode registers a real fence (the leader lease) before or after this; either way it wins.
        if (!services.Any(d => d.ServiceType == typeof(IWriteFence)))
        {
            services.AddSingleton<IWriteFence>(NoWriteFence.Instance);
        }
        if (options.Store == StoreKind.Postgres)
        {
            builder.AddNpgsqlDataSource(PostgresConnectionName, settings => settings.ConnectionString = options.PostgresConnectionString);
            services.AddSingleton<ITaskStore>(sp =>
            {
                var dataSource = sp.GetRequiredService<NpgsqlDataSource>();
                PostgresSchema.Migrate(dataSource);
                return new PostgresTaskStore(dataSource, sp.GetRequiredService<IWriteFence>(), sp.GetRequiredService<ILogger<PostgresTaskStore>>());
            });
        }
        else
        {
            services.AddSingleton<ITaskStore>(sp =>
                new SqliteTaskStore(options.DbPath, sp.GetRequiredService<ILogger<SqliteTaskStore>>()));
        }
        return builder;
    }
}
