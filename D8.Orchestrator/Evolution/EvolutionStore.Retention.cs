using System.Data.Common;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Retention of finished runs. A run ended before the cut-off is first marked 'deleting' (from then on it answers 404
/// and is never listed), then its genomes and task rows go, then its row; each step is one transaction of at most
/// <c>batch</c> rows, so a run of 100 000 genomes never holds the database's write lock for long. A crash part-way
/// leaves marked runs, which the next pass finishes.
/// </summary>
public sealed partial class EvolutionStore
{
    /// <summary>One transaction of retention work. Rows: how many rows it touched (0: nothing left to do); Runs: runs fully deleted.</summary>
    public (int Rows, int Runs) PurgeStep(DateTimeOffset cutoff, int batch)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            var rows = Delete(tx, "evolution_genomes", "id", batch);
            if (rows == 0) rows = Delete(tx, "evolution_tasks", "key", batch);
            var runs = 0;
            if (rows == 0)
            {
                // The marked runs have nothing left but their rows: delete them, then mark the next expired ones.
                runs = Execute("DELETE FROM evolution_runs WHERE state = 'deleting'", tx);
                using var mark = _connection.CreateCommand();
                mark.Transaction = tx;
                mark.CommandText = """
                    UPDATE evolution_runs SET state = 'deleting' WHERE id IN (
                        SELECT id FROM evolution_runs
                        WHERE finished_at IS NOT NULL AND finished_at < @cutoff AND state NOT IN ('running', 'deleting')
                        LIMIT @batch)
                    """;
                mark.With("@cutoff", cutoff.ToUnixTimeMilliseconds());
                mark.With("@batch", batch);
                rows = runs + mark.ExecuteNonQuery();
            }
            tx.CommitFenced(_fence);
            return (rows, runs);
        }
    }

    private int Delete(DbTransaction tx, string table, string key, int batch)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"""
            DELETE FROM {table} WHERE (run_id, {key}) IN (
                SELECT x.run_id, x.{key} FROM evolution_runs r JOIN {table} x ON x.run_id = r.id WHERE r.state = 'deleting' LIMIT @batch)
            """;
        cmd.With("@batch", batch);
        return cmd.ExecuteNonQuery();
    }
}
