using System.Data.Common;
using Npgsql;

namespace D8.Orchestrator.Storage.Postgres;

/// <summary>
/// The orchestrator's PostgreSQL database as every store sees it (<see cref="IStoreDatabase"/>): connections from the
/// Aspire-registered <see cref="NpgsqlDataSource"/> (pooled, traced, measured), the schema migrated once
/// (<see cref="PostgresSchema"/>) before the first connection is handed out.
/// </summary>
public sealed class PostgresDatabase(NpgsqlDataSource dataSource) : IStoreDatabase
{
    private readonly Lock _gate = new();
    private volatile bool _migrated;

    /// <summary>The data source connections come from.</summary>
    public NpgsqlDataSource DataSource => dataSource;

    /// <inheritdoc />
    public string Provider => "postgres";

    /// <inheritdoc />
    public void Migrate()
    {
        if (_migrated) return;
        lock (_gate)
        {
            if (_migrated) return;
            PostgresSchema.Migrate(dataSource);
            _migrated = true;
        }
    }

    /// <inheritdoc />
    public DbConnection OpenConnection(bool readOnly = false)
    {
        Migrate();
        return dataSource.OpenConnection();
    }

    /// <inheritdoc />
    public async ValueTask<DbConnection> OpenConnectionAsync(bool readOnly, CancellationToken ct)
    {
        Migrate();
        return await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
    }
}
