using D8.Contracts.OpenAi;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Batches;

/// <summary>One finished line of a batch: its output or error line (OpenAI's format), keyed by (batch, line).</summary>
public sealed record ResultRow(string BatchId, int Line, bool Ok, string Data);

/// <summary>
/// Per-line outcomes (<c>openai_batch_results</c>). A line has a row once its outcome is durable; the row's key makes
/// a second outcome for the same line a no-op, so every custom_id reaches the output once. Finalizing copies the rows,
/// in line order, into the output and error files and deletes them in the transaction that ends the batch.
/// </summary>
public sealed partial class BatchStore
{
    /// <summary>Inserts the rows in one transaction; for each, whether it was new (a line already recorded stays as it was).</summary>
    public bool[] AddResults(IReadOnlyList<ResultRow> rows)
    {
        var added = new bool[rows.Count];
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            using var cmd = _connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO openai_batch_results(batch_id, line, ok, data) VALUES (@b, @l, @ok, @d) ON CONFLICT DO NOTHING";
            cmd.With("@b", "").With("@l", 0).With("@ok", 0).With("@d", "");
            for (var i = 0; i < rows.Count; i++)
            {
                cmd.Parameters["@b"].Value = rows[i].BatchId;
                cmd.Parameters["@l"].Value = rows[i].Line;
                cmd.Parameters["@ok"].Value = rows[i].Ok ? 1 : 0;
                cmd.Parameters["@d"].Value = rows[i].Data;
                added[i] = cmd.ExecuteNonQuery() > 0;
            }
            tx.CommitFenced(_fence);
        }
        return added;
    }

    /// <summary>Line numbers that already have an outcome.</summary>
    public HashSet<int> DoneLines(string batchId)
    {
        var lines = new HashSet<int>();
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT line FROM openai_batch_results WHERE batch_id = @b";
            cmd.With("@b", batchId);
            using var r = cmd.ExecuteReader();
            while (r.Read()) lines.Add(r.GetInt32(0));
        }
        return lines;
    }

    /// <summary>How many lines succeeded and how many failed so far.</summary>
    public (int Completed, int Failed) CountResults(string batchId)
    {
        int completed = 0, failed = 0;
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT ok, COUNT(*) FROM openai_batch_results WHERE batch_id = @b GROUP BY ok";
            cmd.With("@b", batchId);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (r.GetInt32(0) == 1) completed = (int)r.GetInt64(1);
                else failed = (int)r.GetInt64(1);
            }
        }
        return (completed, failed);
    }

    /// <summary>Up to <paramref name="limit"/> rows of one kind after line <paramref name="afterLine"/>, in line order.</summary>
    public IReadOnlyList<(int Line, string Data)> ReadResults(string batchId, bool ok, int afterLine, int limit)
    {
        var rows = new List<(int, string)>(limit);
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT line, data FROM openai_batch_results WHERE batch_id = @b AND ok = @ok AND line > @after ORDER BY line LIMIT @limit";
            cmd.With("@b", batchId);
            cmd.With("@ok", ok ? 1 : 0);
            cmd.With("@after", afterLine);
            cmd.With("@limit", limit);
            using var r = cmd.ExecuteReader();
            while (r.Read()) rows.Add((r.GetInt32(0), r.GetString(1)));
        }
        return rows;
    }

    /// <summary>Forgets a batch's outcomes (validation starts over after a restart in the middle of it).</summary>
    public void ClearResults(string batchId)
    {
        lock (_gate)
        {
            _connection.ExecuteFenced(_fence, "DELETE FROM openai_batch_results WHERE batch_id = @b", ("@b", batchId));
        }
    }

    /// <summary>Ends a batch in one transaction: its output/error files' rows, its terminal row, and its outcome rows gone.</summary>
    public void Finish(BatchRecord batch, IEnumerable<OpenAiFile> files)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var file in files) AddFileLocked(file, tx);
            SaveLocked(batch, tx);
            using (var cmd = _connection.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "DELETE FROM openai_batch_results WHERE batch_id = @b";
                cmd.With("@b", batch.Id);
                cmd.ExecuteNonQuery();
            }
            tx.CommitFenced(_fence);
        }
    }
}
