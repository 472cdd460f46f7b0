using System.Data.Common;

namespace D8.Orchestrator.Storage;

/// <summary>
/// The orchestrator's one database, as every store sees it (tasks, evolution runs, batches): where connections come
/// from and the schema they find. An implementation migrates the schema once, in order, before it hands out its first
/// connection, so no store depends on which one the container happens to build first. SQLite is one implementation
/// (<see cref="SqliteDatabase"/>); a PostgreSQL one keeps the same contract (docs/ARCHITECTURE.md, "Storage boundary").
/// </summary>
public interface IStoreDatabase
{
    /// <summary>"sqlite" or "postgres": which SQL dialect a store may fall back on where portable SQL does not reach.</summary>
    string Provider { get; }

    /// <summary>Creates or upgrades every table, in one ordered pass; later calls return at once. Throws when it cannot.</summary>
    void Migrate();

    /// <summary>
    /// Opens a connection to the migrated database; the caller disposes it. <paramref name="readOnly"/> connections
    /// serve reads beside the writers (pooled).
    /// </summary>
    DbConnection OpenConnection(bool readOnly = false);

    /// <inheritdoc cref="OpenConnection"/>
    ValueTask<DbConnection> OpenConnectionAsync(bool readOnly, CancellationToken ct);
}
