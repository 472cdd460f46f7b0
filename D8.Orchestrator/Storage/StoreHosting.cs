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
    /// Adds the one <see cref="IStoreDatabase"/> every store uses and the <see cref="ITaskStore"/> over it (for
    /// PostgreSQL also the <see cref="NpgsqlDataSource"/>, with Aspire's health check, traces and metrics). The schema
    /// is created or migrated before the first connection is handed out, at start-up; a PostgreSQL server that cannot
    /// be used then ends start-up with one line (<see cref="PostgresSchema.Migrate"/>).
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
            services.AddSingleton(sp => new PostgresDatabase(sp.GetRequiredService<NpgsqlDataSource>()));
            services.AddSingleton<IStoreDatabase>(sp => sp.GetRequiredService<PostgresDatabase>());
            services.AddSingleton<ITaskStore>(sp => new PostgresTaskStore(sp.GetRequiredService<PostgresDatabase>(),
                sp.GetRequiredService<IWriteFence>(), sp.GetRequiredService<ILogger<PostgresTaskStore>>()));
        }
        else
        {
            // One database for every store; it migrates its schema before it hands out the first connection, so the
            // stores may be built in any order.
            services.AddSingleton(_ => new SqliteDatabase(options.DbPath));
            services.AddSingleton<IStoreDatabase>(sp => sp.GetRequiredService<SqliteDatabase>());
            services.AddSingleton<ITaskStore>(sp =>
                new SqliteTaskStore(sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<ILogger<SqliteTaskStore>>()));
        }
        return builder;
    }
}
