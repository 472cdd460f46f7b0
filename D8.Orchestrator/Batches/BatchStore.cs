using System.Data.Common;
using System.Text.Json;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Batches;

/// <summary>
/// The Batch API's rows in the orchestrator's database, in tables of its own (created by the database's schema
/// migration), on its own connection beside the task store's, in SQL that SQLite and PostgreSQL both read: <c>openai_files</c> (file metadata; bodies are
/// files under D8_FILES_PATH), <c>openai_batches</c> (one JSON row per batch) and <c>openai_batch_results</c> (one row
/// per finished line, keyed by (batch, line), so a line's outcome is stored once whatever happens). This file: the
/// connection and the batch rows; BatchStore.Files.cs, BatchStore.Results.cs and BatchStore.Retention.cs the rest.
/// </summary>
public sealed partial class BatchStore : IDisposable
{
    private readonly Lock _gate = new();
    private readonly DbConnection _connection;
    private readonly IWriteFence _fence;

    /// <summary>
    /// Opens a connection of its own to <paramref name="database"/>; file bodies go under <paramref name="filesPath"/>.
    /// Every write is a transaction that asks <paramref name="fence"/> before it commits (the leader lease when two
    /// orchestrators share PostgreSQL).
    /// </summary>
    public BatchStore(IStoreDatabase database, string filesPath, IWriteFence? fence = null)
    {
        _fence = fence ?? NoWriteFence.Instance;
        FilesPath = filesPath;
        PrivateFolder.Create(filesPath);
        _connection = database.OpenConnection();
    }

    /// <summary>Folder of the file bodies (one file per id).</summary>
    public string FilesPath { get; }

    /// <summary>Where the body of file <paramref name="id"/> is (ids are generated here, never taken from a client path).</summary>
    public string BodyPath(string id) => Path.Combine(FilesPath, id + ".jsonl");

    /// <summary>Inserts or replaces the batch row.</summary>
    public void Save(BatchRecord batch)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            SaveLocked(batch, tx);
            tx.CommitFenced(_fence);
        }
    }

    private void SaveLocked(BatchRecord batch, DbTransaction tx)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO openai_batches(id, status, input_file_id, finished_at, data) VALUES (@id, @status, @input, @finished, @data)
            ON CONFLICT(id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at, data = excluded.data
            """;
        cmd.With("@id", batch.Id);
        cmd.With("@status", batch.Status);
        cmd.With("@input", batch.InputFileId);
        cmd.With("@finished", batch.FinishedAt is { } f ? f.ToUnixTimeMilliseconds() : DBNull.Value);
        cmd.With("@data", JsonSerializer.Serialize(batch, BatchStoreJsonContext.Default.BatchRecord));
        cmd.ExecuteNonQuery();
    }

    public BatchRecord? LoadBatch(string id)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT data FROM openai_batches WHERE id = @id AND status <> 'deleting'";
            cmd.With("@id", id);
            return cmd.ExecuteScalar() is string json ? Read(json) : null;
        }
    }

    /// <summary>Batches not yet terminal (validating, in progress, finalizing, cancelling): the ones to resume at start-up.</summary>
    public IReadOnlyList<BatchRecord> LoadUnfinished()
    {
        lock (_gate)
        {
            return Query("SELECT data FROM openai_batches WHERE finished_at IS NULL AND status <> 'deleting' ORDER BY seq", null);
        }
    }

    /// <summary>Newest first, after the batch <paramref name="after"/> (its id) when given; one more than asked tells has_more.</summary>
    public IReadOnlyList<BatchRecord> ListBatches(string? after, int limit)
    {
        lock (_gate)
        {
            // CAST: PostgreSQL cannot infer the type of a parameter bound to NULL and compared only with IS NULL.
            return Query("""
                SELECT data FROM openai_batches
                WHERE status <> 'deleting' AND (CAST(@after AS TEXT) IS NULL OR seq < (SELECT seq FROM openai_batches WHERE id = @after))
                ORDER BY seq DESC LIMIT @limit
                """, cmd =>
            {
                cmd.With("@after", (object?)after ?? DBNull.Value);
                cmd.With("@limit", limit);
            });
        }
    }

    /// <summary>True when a batch that has not ended reads <paramref name="fileId"/> (it may not be deleted meanwhile).</summary>
    public bool InUse(string fileId)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT 1 FROM openai_batches WHERE input_file_id = @id AND finished_at IS NULL AND status <> 'deleting' LIMIT 1";
            cmd.With("@id", fileId);
            return cmd.ExecuteScalar() is not null;
        }
    }

    private List<BatchRecord> Query(string sql, Action<DbCommand>? bind)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        bind?.Invoke(cmd);
        using var r = cmd.ExecuteReader();
        var list = new List<BatchRecord>();
        while (r.Read()) list.Add(Read(r.GetString(0)));
        return list;
    }

    private static BatchRecord Read(string json) => JsonSerializer.Deserialize(json, BatchStoreJsonContext.Default.BatchRecord)!;

    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
