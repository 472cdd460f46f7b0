namespace D8.Orchestrator.Evolution;

/// <summary>The evaluation cache's table (evolution_cache): key → score, answer and judge reason, with when it was stored.</summary>
public sealed partial class EvolutionStore
{
    private void CreateCacheTable() => Execute("""
        CREATE TABLE IF NOT EXISTS evolution_cache (
            key        TEXT PRIMARY KEY,
            score      REAL NOT NULL,
            answer     TEXT NOT NULL,
            reason     TEXT,
            created_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS evolution_cache_created ON evolution_cache(created_at);
        """);

    /// <summary>A cached evaluation stored at or after <paramref name="since"/>, or null.</summary>
    public CachedEvaluation? LoadCached(string key, DateTimeOffset since)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT score, answer, reason FROM evolution_cache WHERE key = $key AND created_at >= $since";
            cmd.Parameters.AddWithValue("$key", key);
            cmd.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
            using var r = cmd.ExecuteReader();
            return r.Read() ? new CachedEvaluation(r.GetDouble(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2)) : null;
        }
    }

    public void SaveCached(string key, CachedEvaluation value, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "INSERT OR REPLACE INTO evolution_cache(key, score, answer, reason, created_at) VALUES ($key, $score, $answer, $reason, $at)";
            cmd.Parameters.AddWithValue("$key", key);
            cmd.Parameters.AddWithValue("$score", value.Score);
            cmd.Parameters.AddWithValue("$answer", value.Answer);
            cmd.Parameters.AddWithValue("$reason", (object?)value.Reason ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$at", now.ToUnixTimeMilliseconds());
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes up to <paramref name="batch"/> cache entries stored before <paramref name="cutoff"/>; returns how many.</summary>
    public int PurgeCache(DateTimeOffset cutoff, int batch)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "DELETE FROM evolution_cache WHERE rowid IN (SELECT rowid FROM evolution_cache WHERE created_at < $cutoff LIMIT $batch)";
            cmd.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$batch", batch);
            return cmd.ExecuteNonQuery();
        }
    }
}

/// <summary>A reusable evaluation: the case's score, the (trimmed) answer and the judge's reason.</summary>
public sealed record CachedEvaluation(double Score, string Answer, string? Reason);
