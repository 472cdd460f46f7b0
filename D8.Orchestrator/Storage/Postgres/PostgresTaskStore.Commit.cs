using System.Globalization;
using System.Text.Json;
using D8.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace D8.Orchestrator.Storage.Postgres;

/// <summary>The group-commit loop: saves and retention purges, one transaction at a time, in channel order.</summary>
public sealed partial class PostgresTaskStore
{
    /// <inheritdoc />
    public Task Save(StoreChanges changes) => _queue.Save(changes);

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<TaskState, int>> PurgeFinishedAsync(DateTimeOffset before, int batch) =>
        _queue.Purge(before, batch);

    private Task WriteLoopAsync()
    {
        var rows = new Rows();
        return _queue.RunAsync((batch, latest) => CommitAsync(batch, latest, rows), PurgeAsync);
    }

    private async Task CommitAsync(IReadOnlyList<GroupCommitQueue.PendingSave> batch, LatestRows latest, Rows rows)
    {
        try
        {
            // Rows become JSON here: a row that cannot be written fails its batch like a failed commit, not the loop.
            rows.Fill(latest);
            await using (var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false))
            {
                if (_fence is NoWriteFence)
                {
                    await CommitInOneRoundTripAsync(connection, rows).ConfigureAwait(false);
                }
                else
                {
                    await using var tx = await connection.BeginTransactionAsync().ConfigureAwait(false);
                    await using (var statements = rows.Statements(connection))
                    {
                        if (statements.BatchCommands.Count > 0) await statements.ExecuteNonQueryAsync().ConfigureAwait(false);
                    }
                    await _fence.CheckAsync(connection, tx, CancellationToken.None).ConfigureAwait(false);
                    await tx.CommitAsync().ConfigureAwait(false);
                }
            }
            _lastError = null;
            foreach (var save in batch)
            {
                save.Done.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failed, unreachable or fenced commit: none of these writes is acknowledged.
            LogCommitFailed(ex, batch.Count);
            _lastError = "the last commit failed: " + ex.Message;
            foreach (var save in batch)
            {
                save.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// Without a fence to ask between the writes and the commit, BEGIN, the upserts and COMMIT go in one batch: one
    /// round trip per group commit instead of two. A failing statement makes the server skip the rest of the batch,
    /// COMMIT included; the transaction is then rolled back before the connection goes back to the pool.
    /// </summary>
    private static async Task CommitInOneRoundTripAsync(NpgsqlConnection connection, Rows rows)
    {
        await using var statements = rows.Statements(connection);
        statements.BatchCommands.Insert(0, new NpgsqlBatchCommand("BEGIN"));
        statements.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        try
        {
            await statements.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (PostgresException)
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task PurgeAsync(GroupCommitQueue.PendingPurge purge)
    {
        try
        {
            var removed = new Dictionary<TaskState, int>();
            await using (var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false))
            await using (var tx = await connection.BeginTransactionAsync().ConfigureAwait(false))
            {
                await using (var cmd = new NpgsqlCommand("""
                    DELETE FROM tasks WHERE id IN (
                        SELECT id FROM tasks WHERE finished_at < $1 ORDER BY finished_at LIMIT $2)
                    RETURNING state
                    """, connection, tx))
                {
                    cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = purge.BeforeMs });
                    cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = purge.Batch });
                    await using var reader = await cmd.ExecuteReaderAsync().ConfigureAwait(false);
                    while (await reader.ReadAsync().ConfigureAwait(false))
                    {
                        if (WireNames.TryParse(reader.GetString(0), out var state))
                        {
                            removed[state] = removed.GetValueOrDefault(state) + 1;
                        }
                    }
                }
                await _fence.CheckAsync(connection, tx, CancellationToken.None).ConfigureAwait(false);
                await tx.CommitAsync().ConfigureAwait(false);
            }
            purge.Done.TrySetResult(removed);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            purge.Done.TrySetException(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Group commit of {Count} saves failed; those requests get an error")]
    private partial void LogCommitFailed(Exception ex, int count);

    /// <summary>
    /// One transaction's rows as column arrays: one <c>unnest</c> upsert per table instead of a statement per row, all
    /// sent in one round trip. The lists are reused from one commit to the next.
    /// </summary>
    private sealed class Rows
    {
        private readonly List<string> _taskId = [], _taskState = [], _taskData = [];
        private readonly List<long> _taskSeq = [], _taskCreated = [];
        private readonly List<string?> _taskIdem = [];
        private readonly List<long?> _taskFinished = [];
        private readonly List<string> _workerId = [], _workerState = [], _workerData = [], _deletedWorkers = [];
        private readonly List<string> _metaKey = [], _metaValue = [];

        /// <summary>Rows become JSON here, in the commit loop, off the engine lock.</summary>
        public void Fill(LatestRows latest)
        {
            foreach (var list in (System.Collections.IList[])[_taskId, _taskState, _taskData, _taskSeq, _taskCreated, _taskIdem,
                         _taskFinished, _workerId, _workerState, _workerData, _deletedWorkers, _metaKey, _metaValue])
            {
                list.Clear();
            }
            foreach (var t in latest.Tasks.Values)
            {
                _taskId.Add(t.Id);
                _taskSeq.Add(t.Seq);
                _taskState.Add(WireNames.Of(t.State));
                _taskData.Add(JsonSerializer.Serialize(t, StoreJsonContext.Default.TaskRow));
                _taskIdem.Add(t.IdempotencyKey);
                _taskCreated.Add(t.CreatedAt.ToUnixTimeMilliseconds());
                _taskFinished.Add(t.State.IsTerminal() ? t.UpdatedAt.ToUnixTimeMilliseconds() : null);
            }
            foreach (var (id, w) in latest.Workers)
            {
                if (w is null)
                {
                    _deletedWorkers.Add(id);
                    continue;
                }
                _workerId.Add(id);
                _workerState.Add(WireNames.Of(w.State));
                _workerData.Add(JsonSerializer.Serialize(w, StoreJsonContext.Default.WorkerRow));
            }
            if (latest.TokensReported is { } tokens)
            {
                _metaKey.Add("tokens_reported");
                _metaValue.Add(tokens.ToString(CultureInfo.InvariantCulture));
            }
        }

        public NpgsqlBatch Statements(NpgsqlConnection connection)
        {
            var batch = new NpgsqlBatch(connection);
            if (_taskId.Count > 0)
            {
                batch.BatchCommands.Add(Command("""
                    INSERT INTO tasks(id, seq, state, data, idem_key, created_at, finished_at)
                    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
                    ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data, finished_at = excluded.finished_at
                    """, Text(_taskId), Bigint(_taskSeq), Text(_taskState), Text(_taskData), Text(_taskIdem), Bigint(_taskCreated),
                    new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = _taskFinished.ToArray() }));
            }
            if (_workerId.Count > 0)
            {
                batch.BatchCommands.Add(Command("""
                    INSERT INTO workers(id, state, data) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                    ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data
                    """, Text(_workerId), Text(_workerState), Text(_workerData)));
            }
            if (_deletedWorkers.Count > 0)
            {
                batch.BatchCommands.Add(Command("DELETE FROM workers WHERE id = ANY($1)", Text(_deletedWorkers)));
            }
            if (_metaKey.Count > 0)
            {
                batch.BatchCommands.Add(Command("""
                    INSERT INTO meta(key, value) SELECT * FROM unnest($1::text[], $2::text[])
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """, Text(_metaKey), Text(_metaValue)));
            }
            return batch;
        }

        private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddRange(parameters);
            return command;
        }

        private static NpgsqlParameter Text(IEnumerable<string?> values) =>
            new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = values.ToArray() };

        private static NpgsqlParameter Bigint(List<long> values) =>
            new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = values.ToArray() };
    }
}
