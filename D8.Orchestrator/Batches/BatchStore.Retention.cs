using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Retention: batches that ended more than D8_RETENTION_DAYS ago, and files past their <c>expires_at</c> (created +
/// D8_RETENTION_DAYS) that no unfinished batch reads, at most <c>batch</c> rows per transaction.
/// </summary>
public sealed partial class BatchStore
{
    /// <summary>One transaction of retention work; returns the batches and files it deleted (0, 0: nothing left).</summary>
    public (int Batches, int Files) PurgeStep(DateTimeOffset now, DateTimeOffset batchCutoff, int batch)
    {
        var fileIds = new List<string>();
        int batches;
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            using (var cmd = _connection.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    DELETE FROM openai_batches WHERE seq IN (
                        SELECT seq FROM openai_batches WHERE finished_at IS NOT NULL AND finished_at < @cutoff LIMIT @batch)
                    """;
                cmd.With("@cutoff", batchCutoff.ToUnixTimeMilliseconds());
                cmd.With("@batch", batch);
                batches = cmd.ExecuteNonQuery();
            }
            using (var cmd = _connection.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    DELETE FROM openai_files WHERE seq IN (
                        SELECT f.seq FROM openai_files f
                        WHERE f.expires_at IS NOT NULL AND f.expires_at < @now
                          AND NOT EXISTS (SELECT 1 FROM openai_batches b WHERE b.input_file_id = f.id AND b.finished_at IS NULL)
                        LIMIT @batch)
                    RETURNING id
                    """;
                cmd.With("@now", now.ToUnixTimeSeconds());
                cmd.With("@batch", batch);
                using var r = cmd.ExecuteReader();
                while (r.Read()) fileIds.Add(r.GetString(0));
            }
            tx.CommitFenced(_fence);
        }
        foreach (var id in fileIds) DeleteBody(id);
        return (batches, fileIds.Count);
    }
}
