using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Durable run state in the orchestrator's SQLite file, in tables of its own (evolution_runs, evolution_genomes,
/// evolution_tasks), on its own connection beside the task store's (WAL lets them share the file). Each call is one
/// small transaction: a genome's new prompt or score is written together with the run's counters and the task
/// id it came from, so a restart finds either all of a change or none of it. Only running runs are read at start-up;
/// finished ones are read on demand (EvolutionStore.Reads.cs) and deleted by retention (EvolutionStore.Retention.cs).
/// </summary>
public sealed partial class EvolutionStore : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;

    public EvolutionStore(string dbPath)
    {
        _connection = D8.Orchestrator.Storage.SideConnection.Open(dbPath);
        Execute("""
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
            """);
        AddFinishedAtColumn();
        CreateCacheTable();
        Execute("""
            CREATE INDEX IF NOT EXISTS evolution_runs_state ON evolution_runs(state, created_at);
            CREATE INDEX IF NOT EXISTS evolution_runs_created ON evolution_runs(created_at);
            CREATE INDEX IF NOT EXISTS evolution_runs_finished ON evolution_runs(finished_at) WHERE finished_at IS NOT NULL;
            """);
    }

    /// <summary>
    /// Upgrades a database written before runs had a finished_at column (retention deletes by it): adds it and fills it
    /// from the JSON rows of the runs that have ended. Runs once; later starts find the column.
    /// </summary>
    private void AddFinishedAtColumn()
    {
        using (var info = _connection.CreateCommand())
        {
            info.CommandText = "SELECT 1 FROM pragma_table_info('evolution_runs') WHERE name = 'finished_at'";
            if (info.ExecuteScalar() is not null) return;
        }
        using var tx = _connection.BeginTransaction();
        Execute("ALTER TABLE evolution_runs ADD COLUMN finished_at INTEGER", tx);
        var ended = new List<(string Id, long At)>();
        using (var cmd = _connection.CreateCommand())
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
            using var cmd = _connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE evolution_runs SET finished_at = $at WHERE id = $id";
            cmd.Parameters.AddWithValue("$at", at);
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    public IReadOnlyList<Genome> LoadGenomes(string runId)
    {
        var genomes = new List<Genome>();
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT data FROM evolution_genomes WHERE run_id = $run ORDER BY generation, slot";
            cmd.Parameters.AddWithValue("$run", runId);
            using var r = cmd.ExecuteReader();
            while (r.Read()) genomes.Add(JsonSerializer.Deserialize(r.GetString(0), EvolutionJsonContext.Default.Genome)!);
        }
        return genomes;
    }

    /// <summary>Idempotency key → task id of every task the run has submitted.</summary>
    public Dictionary<string, string> LoadTasks(string runId)
    {
        var tasks = new Dictionary<string, string>(StringComparer.Ordinal);
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT key, task_id FROM evolution_tasks WHERE run_id = $run";
            cmd.Parameters.AddWithValue("$run", runId);
            using var r = cmd.ExecuteReader();
            while (r.Read()) tasks[r.GetString(0)] = r.GetString(1);
        }
        return tasks;
    }

    /// <summary>Writes the run row, the given genomes and (optionally) one submitted task, in one transaction.</summary>
    public void Save(RunRecord run, IEnumerable<Genome> genomes, (string Key, string TaskId)? task = null)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            using (var cmd = _connection.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR REPLACE INTO evolution_runs(id, state, created_at, finished_at, data) VALUES ($id, $state, $created, $finished, $data)";
                cmd.Parameters.AddWithValue("$id", run.Id);
                cmd.Parameters.AddWithValue("$state", D8.Contracts.EvolutionStateNames.Of(run.State));
                cmd.Parameters.AddWithValue("$created", run.CreatedAt.ToUnixTimeMilliseconds());
                cmd.Parameters.AddWithValue("$finished", run.State == D8.Contracts.EvolutionState.Running
                    ? DBNull.Value : (run.FinishedAt ?? run.UpdatedAt).ToUnixTimeMilliseconds());
                cmd.Parameters.AddWithValue("$data", JsonSerializer.Serialize(run, EvolutionJsonContext.Default.RunRecord));
                cmd.ExecuteNonQuery();
            }
            foreach (var g in genomes)
            {
                using var cmd = _connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR REPLACE INTO evolution_genomes(run_id, id, generation, slot, data) VALUES ($run, $id, $g, $s, $data)";
                cmd.Parameters.AddWithValue("$run", run.Id);
                cmd.Parameters.AddWithValue("$id", g.Id);
                cmd.Parameters.AddWithValue("$g", g.Generation);
                cmd.Parameters.AddWithValue("$s", g.Slot);
                cmd.Parameters.AddWithValue("$data", JsonSerializer.Serialize(g, EvolutionJsonContext.Default.Genome));
                cmd.ExecuteNonQuery();
            }
            if (task is { } t)
            {
                using var cmd = _connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR IGNORE INTO evolution_tasks(run_id, key, task_id) VALUES ($run, $key, $task)";
                cmd.Parameters.AddWithValue("$run", run.Id);
                cmd.Parameters.AddWithValue("$key", t.Key);
                cmd.Parameters.AddWithValue("$task", t.TaskId);
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <summary>Records the task a key was submitted as (the run row is unchanged).</summary>
    public void SaveTask(string runId, string key, string taskId)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "INSERT OR IGNORE INTO evolution_tasks(run_id, key, task_id) VALUES ($run, $key, $task)";
            cmd.Parameters.AddWithValue("$run", runId);
            cmd.Parameters.AddWithValue("$key", key);
            cmd.Parameters.AddWithValue("$task", taskId);
            cmd.ExecuteNonQuery();
        }
    }

    private int Execute(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
