using System.Text.Json;
using System.Data.Common;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Durable run state in the orchestrator's database, in tables of its own (evolution_runs, evolution_genomes,
/// evolution_tasks; created by the database's schema migration), on its own connection beside the task store's, in
/// SQL that SQLite and PostgreSQL both read. Each call is one
/// small transaction: a genome's new prompt or score is written together with the run's counters and the task
/// id it came from, so a restart finds either all of a change or none of it. Only running runs are read at start-up;
/// finished ones are read on demand (EvolutionStore.Reads.cs) and deleted by retention (EvolutionStore.Retention.cs).
/// </summary>
public sealed partial class EvolutionStore : IDisposable
{
    private readonly Lock _gate = new();
    private readonly DbConnection _connection;
    private readonly IWriteFence _fence;

    /// <summary>
    /// Opens a connection of its own to <paramref name="database"/> (migrated before it is handed out). Every write is a
    /// transaction that asks <paramref name="fence"/> before it commits (with two orchestrators on PostgreSQL, the leader
    /// lease: a deposed orchestrator writes no run state).
    /// </summary>
    public EvolutionStore(IStoreDatabase database, IWriteFence? fence = null)
    {
        _connection = database.OpenConnection();
        _fence = fence ?? NoWriteFence.Instance;
    }

    public IReadOnlyList<Genome> LoadGenomes(string runId)
    {
        var genomes = new List<Genome>();
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT data FROM evolution_genomes WHERE run_id = @run ORDER BY generation, slot";
            cmd.With("@run", runId);
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
            cmd.CommandText = "SELECT key, task_id FROM evolution_tasks WHERE run_id = @run";
            cmd.With("@run", runId);
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
                cmd.CommandText = """
                    INSERT INTO evolution_runs(id, state, created_at, finished_at, data) VALUES (@id, @state, @created, @finished, @data)
                    ON CONFLICT(id) DO UPDATE SET state = excluded.state, created_at = excluded.created_at,
                        finished_at = excluded.finished_at, data = excluded.data
                    """;
                cmd.With("@id", run.Id);
                cmd.With("@state", D8.Contracts.EvolutionStateNames.Of(run.State));
                cmd.With("@created", run.CreatedAt.ToUnixTimeMilliseconds());
                cmd.With("@finished", run.State == D8.Contracts.EvolutionState.Running
                    ? DBNull.Value : (run.FinishedAt ?? run.UpdatedAt).ToUnixTimeMilliseconds());
                cmd.With("@data", JsonSerializer.Serialize(run, EvolutionJsonContext.Default.RunRecord));
                cmd.ExecuteNonQuery();
            }
            foreach (var g in genomes)
            {
                using var cmd = _connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO evolution_genomes(run_id, id, generation, slot, data) VALUES (@run, @id, @g, @s, @data)
                    ON CONFLICT(run_id, id) DO UPDATE SET generation = excluded.generation, slot = excluded.slot, data = excluded.data
                    """;
                cmd.With("@run", run.Id);
                cmd.With("@id", g.Id);
                cmd.With("@g", g.Generation);
                cmd.With("@s", g.Slot);
                cmd.With("@data", JsonSerializer.Serialize(g, EvolutionJsonContext.Default.Genome));
                cmd.ExecuteNonQuery();
            }
            if (task is { } t)
            {
                using var cmd = _connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO evolution_tasks(run_id, key, task_id) VALUES (@run, @key, @task) ON CONFLICT DO NOTHING";
                cmd.With("@run", run.Id);
                cmd.With("@key", t.Key);
                cmd.With("@task", t.TaskId);
                cmd.ExecuteNonQuery();
            }
            tx.CommitFenced(_fence);
        }
    }

    /// <summary>Records the task a key was submitted as (the run row is unchanged).</summary>
    public void SaveTask(string runId, string key, string taskId)
    {
        lock (_gate)
        {
            _connection.ExecuteFenced(_fence,
                "INSERT INTO evolution_tasks(run_id, key, task_id) VALUES (@run, @key, @task) ON CONFLICT DO NOTHING",
                ("@run", runId), ("@key", key), ("@task", taskId));
        }
    }

    private int Execute(string sql, DbTransaction? tx = null)
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
