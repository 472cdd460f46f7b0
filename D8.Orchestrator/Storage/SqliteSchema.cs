using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>
/// The SQLite file's schema, for every store in it (tasks, evolution runs, batches), as ordered steps run once by
/// <see cref="SqliteDatabase.Migrate"/> before any store opens a connection. <c>PRAGMA user_version</c> records the last
/// step applied; a file from before it existed reads 0, and every step also checks what it finds, so such a file is
/// upgraded in place (its tasks, runs and batches kept).
/// </summary>
internal static partial class SqliteSchema
{
    private static readonly Action<SqliteConnection>[] Steps = [Tasks, Evolution, Batches];

    /// <summary>Applies the steps the file has not seen yet, in order, each with its version in one transaction.</summary>
    public static void Migrate(SqliteConnection connection)
    {
        long version;
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "PRAGMA user_version;";
            version = (long)cmd.ExecuteScalar()!;
        }
        for (var i = (int)version; i < Steps.Length; i++)
        {
            Steps[i](connection);
            Execute(connection, $"PRAGMA user_version = {i + 1};");
        }
    }

    /// <summary>
    /// Tasks, workers and counters, and the one-time upgrade of a database written before finished tasks left memory
    /// (it adds the indexed columns and fills them, the token total and the worker counters from the JSON rows).
    /// </summary>
    private static void Tasks(SqliteConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS tasks (
                id    TEXT PRIMARY KEY,
                seq   INTEGER NOT NULL,
                state TEXT NOT NULL,
                data  TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS tasks_state_seq ON tasks(state, seq);
            CREATE TABLE IF NOT EXISTS workers (
                id    TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                data  TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL);
            """);
        if (HasColumn(connection, "tasks", "finished_at"))
        {
            return;
        }
        using var tx = connection.BeginTransaction();
        Execute(connection, """
            ALTER TABLE tasks ADD COLUMN idem_key TEXT;
            ALTER TABLE tasks ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tasks ADD COLUMN finished_at INTEGER;
            UPDATE tasks SET
                idem_key = json_extract(data, '$.idempotency_key'),
                created_at = CAST(ROUND((julianday(json_extract(data, '$.created_at')) - 2440587.5) * 86400000) AS INTEGER),
                finished_at = CASE WHEN state IN ('succeeded', 'failed', 'cancelled')
                    THEN CAST(ROUND((julianday(json_extract(data, '$.updated_at')) - 2440587.5) * 86400000) AS INTEGER) END;
            CREATE INDEX IF NOT EXISTS tasks_seq ON tasks(seq);
            CREATE INDEX IF NOT EXISTS tasks_finished_at ON tasks(finished_at);
            CREATE INDEX IF NOT EXISTS tasks_idem ON tasks(created_at) WHERE idem_key IS NOT NULL;
            INSERT OR REPLACE INTO meta(key, value) SELECT 'tokens_reported', CAST(COALESCE(SUM(COALESCE(
                json_extract(data, '$.result.usage.total_tokens'),
                COALESCE(json_extract(data, '$.result.usage.prompt_tokens'), 0)
                + COALESCE(json_extract(data, '$.result.usage.completion_tokens'), 0))), 0) AS TEXT)
                FROM tasks WHERE state = 'succeeded';
            UPDATE workers SET data = json_set(data,
                '$.tasks_succeeded', (SELECT count(*) FROM tasks t
                    WHERE t.state = 'succeeded' AND json_extract(t.data, '$.result.worker_id') = workers.id),
                '$.tasks_failed', (SELECT count(*) FROM tasks t, json_each(t.data, '$.errors') e
                    WHERE json_extract(e.value, '$.worker_id') = workers.id
                      AND json_extract(e.value, '$.kind') IN ('transient', 'permanent')));
            """, tx);
        tx.Commit();
    }

    internal static bool HasColumn(SqliteConnection connection, string table, string column)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $c";
        cmd.Parameters.AddWithValue("$c", column);
        return cmd.ExecuteScalar() is not null;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
