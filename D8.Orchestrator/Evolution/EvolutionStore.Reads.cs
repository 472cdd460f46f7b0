using System.Text.Json;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Evolution;

/// <summary>Reads of runs: the running ones at start-up, any one by id, the newest for the list.</summary>
public sealed partial class EvolutionStore
{
    /// <summary>Runs still running (to resume at start-up), oldest first; finished runs stay on disk.</summary>
    public IReadOnlyList<RunRecord> LoadRunning() =>
        ReadRuns("SELECT data FROM evolution_runs WHERE state = 'running' ORDER BY created_at", null);

    /// <summary>One run's row, or null when there is none (or retention is deleting it).</summary>
    public RunRecord? LoadRun(string id) =>
        ReadRuns("SELECT data FROM evolution_runs WHERE id = @p AND state <> 'deleting'", id).FirstOrDefault();

    /// <summary>The newest <paramref name="limit"/> runs, any state, newest first.</summary>
    public IReadOnlyList<RunRecord> LoadNewest(int limit) =>
        ReadRuns("SELECT data FROM evolution_runs WHERE state <> 'deleting' ORDER BY created_at DESC, id DESC LIMIT @p", limit);

    /// <summary>How many task ids the run has recorded.</summary>
    public long CountTasks(string runId) => Count("SELECT COUNT(*) FROM evolution_tasks WHERE run_id = @run", runId);

    /// <summary>Rows a run has in the genome and task tables (tests check retention leaves none).</summary>
    public (long Genomes, long Tasks) RowsOf(string runId) =>
        (Count("SELECT COUNT(*) FROM evolution_genomes WHERE run_id = @run", runId), CountTasks(runId));

    private long Count(string sql, string runId)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.With("@run", runId);
            return (long)cmd.ExecuteScalar()!;
        }
    }

    private List<RunRecord> ReadRuns(string sql, object? parameter)
    {
        var runs = new List<RunRecord>();
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            if (parameter is not null) cmd.With("@p", parameter);
            using var r = cmd.ExecuteReader();
            while (r.Read()) runs.Add(JsonSerializer.Deserialize(r.GetString(0), EvolutionJsonContext.Default.RunRecord)!);
        }
        return runs;
    }
}
