using System.Text.Json;
using D8.Orchestrator.Evolution;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>The evolution and Batch API tables (their stores' SQL is portable; the DDL here is SQLite's).</summary>
internal static partial class SqliteSchema
{
    /// <summary>
    /// evolution_runs, evolution_genomes, evolution_tasks and evolution_cache, with the upgrades of files written
    /// before runs had finished_at (retention deletes by it; filled from the JSON rows of ended runs) and before the
    /// cache kept tokens (older rows count 0 until stored again).
    /// </summary>
    private static void Evolution(SqliteConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS evolution_runs (
                id         TEXT PRIMARY KEY,
                state      TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                data       TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS evolution_genomes (
                run_id     TEXT NOT NULL,
                id         TEXT NOT NULL,
                generation INTEGER NOT NULL,
                slot       INTEGER NOT NULL,
                data       TEXT NOT NULL,
                PRIMARY KEY (run_id, id));
            CREATE TABLE IF NOT EXISTS evolution_tasks (
                run_id  TEXT NOT NULL,
                key     TEXT NOT NULL,
                task_id TEXT NOT NULL,
                PRIMARY KEY (run_id, key));
            CREATE TABLE IF NOT EXISTS evolution_cache (
                key        TEXT PRIMARY KEY,
                score      REAL NOT NULL,
                answer     TEXT NOT NULL,
                reason     TEXT,
                created_at INTEGER NOT NULL,
                tokens     INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS evolution_cache_created ON evolution_cache(created_at);
            """);
        if (!HasColumn(connection, "evolution_cache", "tokens"))
        {
            Execute(connection, "ALTER TABLE evolution_cache ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0");
        }
        AddRunFinishedAt(connection);
        Execute(connection, """
            CREATE INDEX IF NOT EXISTS evolution_runs_state ON evolution_runs(state, created_at);
            CREATE INDEX IF NOT EXISTS evolution_runs_created ON evolution_runs(created_at);
            CREATE INDEX IF NOT EXISTS evolution_runs_finished ON evolution_runs(finished_at) WHERE finished_at IS NOT NULL;
            """);
    }

    private static void AddRunFinishedAt(SqliteConnection connection)
    {
        if (HasColumn(connection, "evolution_runs", "finished_at")) return;
        using var tx = connection.BeginTransaction();
        Execute(connection, "ALTER TABLE evolution_runs ADD COLUMN finished_at INTEGER", tx);
        var ended = new List<(string Id, long At)>();
        using (var cmd = connection.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "SELECT data FROM evolution_runs WHERE state <> 'running'";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var run = JsonSerializer.Deserialize(r.GetString(0), EvolutionJsonContext.Default.RunRecord)!;
                ended.Add((run.Id, (run.FinishedAt ?? run.UpdatedAt).ToUnixTimeMilliseconds()));
            }
        }
        foreach (var (id, at) in ended)
        {
            using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE evolution_runs SET finished_at = $at WHERE id = $id";
            cmd.Parameters.AddWithValue("$at", at);
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>openai_files (metadata; bodies are files), openai_batches and openai_batch_results.</summary>
    private static void Batches(SqliteConnection connection) => Execute(connection, """
        CREATE TABLE IF NOT EXISTS openai_files (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            id         TEXT NOT NULL UNIQUE,
            purpose    TEXT NOT NULL,
            filename   TEXT NOT NULL,
            bytes      INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER);
        CREATE TABLE IF NOT EXISTS openai_batches (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            id            TEXT NOT NULL UNIQUE,
            status        TEXT NOT NULL,
            input_file_id TEXT NOT NULL,
            finished_at   INTEGER,
            data          TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS openai_batch_results (
            batch_id TEXT NOT NULL,
            line     INTEGER NOT NULL,
            ok       INTEGER NOT NULL,
            data     TEXT NOT NULL,
            PRIMARY KEY (batch_id, line)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS openai_batches_status ON openai_batches(status);
        CREATE INDEX IF NOT EXISTS openai_batches_input ON openai_batches(input_file_id);
        CREATE INDEX IF NOT EXISTS openai_files_expires ON openai_files(expires_at) WHERE expires_at IS NOT NULL;
        """);
}
