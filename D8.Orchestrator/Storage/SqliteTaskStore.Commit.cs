using System.Globalization;
using System.Text.Json;
using D8.Contracts;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>The group-commit loop: saves and retention purges, one transaction at a time, in channel order.</summary>
public sealed partial class SqliteTaskStore
{
    /// <inheritdoc />
    public Task Save(StoreChanges changes) => _queue.Save(changes);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<TaskState, int>> PurgeFinishedAsync(DateTimeOffset before, int batch) =>
        _queue.Purge(before, batch);

    private async Task WriteLoopAsync()
    {
        using var commands = new Commands(_connection);
        await _queue.RunAsync((batch, latest) =>
        {
            Commit(commands, batch, latest);
            return Task.CompletedTask;
        }, purge =>
        {
            Purge(purge);
            return Task.CompletedTask;
        }).ConfigureAwait(false);
    }

    private void Commit(Commands commands, IReadOnlyList<GroupCommitQueue.PendingSave> batch, LatestRows latest)
    {
        try
        {
            using (var tx = _connection.BeginTransaction())
            {
                commands.Enlist(tx);
                commands.Write(latest);
                tx.Commit();
            }
            _lastError = null;
            foreach (var save in batch)
            {
                save.Done.TrySetResult();
            }
        }
        // Rows become JSON inside the transaction: a row that cannot be written fails its batch like a failed commit
        // (callers get the error), instead of stopping the loop and leaving every later caller waiting.
        catch (Exception ex) when (ex is SqliteException or JsonException or ArgumentException or NotSupportedException)
        {
            LogCommitFailed(ex, batch.Count);
            _lastError = "the last commit failed: " + ex.Message;
            foreach (var save in batch)
            {
                save.Done.TrySetException(ex);
            }
        }
    }

    private void Purge(GroupCommitQueue.PendingPurge purge)
    {
        try
        {
            var removed = new Dictionary<TaskState, int>();
            using (var tx = _connection.BeginTransaction())
            using (var cmd = _connection.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    DELETE FROM tasks WHERE rowid IN (
                        SELECT rowid FROM tasks WHERE finished_at < $before ORDER BY finished_at LIMIT $batch)
                    RETURNING state
                    """;
                cmd.Parameters.AddWithValue("$before", purge.BeforeMs);
                cmd.Parameters.AddWithValue("$batch", purge.Batch);
                using (var reader = cmd.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        if (WireNames.TryParse(reader.GetString(0), out var state))
                        {
                            removed[state] = removed.GetValueOrDefault(state) + 1;
                        }
                    }
                }
                tx.Commit();
            }
            purge.Done.TrySetResult(removed);
        }
        catch (SqliteException ex)
        {
            purge.Done.TrySetException(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Group commit of {Count} saves failed; those requests get an error")]
    private partial void LogCommitFailed(Exception ex, int count);

    /// <summary>The prepared statements of the commit loop; rows become JSON here, off the engine lock.</summary>
    private sealed class Commands : IDisposable
    {
        private readonly SqliteCommand _task, _worker, _deleteWorker, _meta;

        public Commands(SqliteConnection connection)
        {
            _task = Prepare(connection, """
                INSERT INTO tasks(id, seq, state, data, idem_key, created_at, finished_at)
                VALUES ($id, $seq, $state, $data, $idem, $created, $finished)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, data = excluded.data, finished_at = excluded.finished_at
                """, "$id", "$seq", "$state", "$data", "$idem", "$created", "$finished");
            _worker = Prepare(connection, """
                INSERT INTO workers(id, state, data) VALUES ($id, $state, $data)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, data = excluded.data
                """, "$id", "$state", "$data");
            _deleteWorker = Prepare(connection, "DELETE FROM workers WHERE id = $id", "$id");
            _meta = Prepare(connection, "INSERT OR REPLACE INTO meta(key, value) VALUES ($id, $value)", "$id", "$value");
        }

        public void Enlist(SqliteTransaction tx)
        {
            _task.Transaction = _worker.Transaction = _deleteWorker.Transaction = _meta.Transaction = tx;
        }

        public void Write(LatestRows latest)
        {
            foreach (var t in latest.Tasks.Values)
            {
                Run(_task, t.Id, t.Seq, WireNames.Of(t.State), JsonSerializer.Serialize(t, StoreJsonContext.Default.TaskRow),
                    (object?)t.IdempotencyKey ?? DBNull.Value, t.CreatedAt.ToUnixTimeMilliseconds(),
                    t.State.IsTerminal() ? t.UpdatedAt.ToUnixTimeMilliseconds() : DBNull.Value);
            }
            foreach (var (id, w) in latest.Workers)
            {
                if (w is null) Run(_deleteWorker, id);
                else Run(_worker, id, WireNames.Of(w.State), JsonSerializer.Serialize(w, StoreJsonContext.Default.WorkerRow));
            }
            if (latest.TokensReported is { } tokens)
            {
                Run(_meta, "tokens_reported", tokens.ToString(CultureInfo.InvariantCulture));
            }
        }

        private static void Run(SqliteCommand cmd, params object[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                cmd.Parameters[i].Value = values[i];
            }
            cmd.ExecuteNonQuery();
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] names)
        {
            var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            foreach (var name in names)
            {
                cmd.Parameters.AddWithValue(name, DBNull.Value);
            }
            return cmd;
        }

        public void Dispose()
        {
            _task.Dispose();
            _worker.Dispose();
            _deleteWorker.Dispose();
            _meta.Dispose();
        }
    }
}
