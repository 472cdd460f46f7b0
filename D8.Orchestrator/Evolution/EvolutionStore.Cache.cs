namespace D8.Orchestrator.Evolution;

/// <summary>The evaluation cache's table (evolution_cache): key → score, answer, judge reason and tokens, with when it was stored.</summary>
public sealed partial class EvolutionStore
{
    private void CreateCacheTable()
    {
        Execute("""
            CREATE TABLE IF NOT EXISTS evolution_cache (
                key        TEXT PRIMARY KEY,
                score      REAL NOT NULL,
                answer     TEXT NOT NULL,
                reason     TEXT,
                created_at INTEGER NOT NULL,
                tokens     INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS evolution_cache_created ON evolution_cache(created_at);
            """);
        // A database from before tokens were cached: add the column (older rows count 0 tokens until they are stored again).
        using var info = _connection.CreateCommand();
        info.CommandText = "SELECT 1 FROM pragma_table_info('evolution_cache') WHERE name = 'tokens'";
        if (info.ExecuteScalar() is null) Execute("ALTER TABLE evolution_cache ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0");
    }

    /// <summary>A cached evaluation stored at or after <paramref name="since"/>, or null.</summary>
    public CachedEvaluation? LoadCached(string key, DateTimeOffset since)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT score, answer, reason, tokens FROM evolution_cache WHERE key = $key AND created_at >= $since";
            cmd.Parameters.AddWithValue("$key", key);
            cmd.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
            using var r = cmd.ExecuteReader();
            return r.Read() ? new CachedEvaluation(r.GetDouble(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3)) : null;
        }
    }

    public void SaveCached(string key, CachedEvaluation value, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "INSERT OR REPLACE INTO evolution_cache(key, score, answer, reason, created_at, tokens) VALUES ($key, $score, $answer, $reason, $at, $tokens)";
            cmd.Parameters.AddWithValue("$key", key);
            cmd.Parameters.AddWithValue("$score", value.Score);
            cmd.Parameters.AddWithValue("$answer", value.Answer);
            cmd.Parameters.AddWithValue("$reason", (object?)value.Reason ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$at", now.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$tokens", value.Tokens);
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

/// <summary>A reusable evaluation: the case's score, the (trimmed) answer, the judge's reason and the tokens it cost.</summary>
public sealed record CachedEvaluation(double Score, string Answer, string? Reason, long Tokens = 0);
