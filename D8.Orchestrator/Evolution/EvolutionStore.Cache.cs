using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Evolution;

/// <summary>The evaluation cache's table (evolution_cache): key → score, answer, judge reason and tokens, with when it was stored.</summary>
public sealed partial class EvolutionStore
{
    /// <summary>A cached evaluation stored at or after <paramref name="since"/>, or null.</summary>
    public CachedEvaluation? LoadCached(string key, DateTimeOffset since)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT score, answer, reason, tokens FROM evolution_cache WHERE key = @key AND created_at >= @since";
            cmd.With("@key", key);
            cmd.With("@since", since.ToUnixTimeMilliseconds());
            using var r = cmd.ExecuteReader();
            return r.Read() ? new CachedEvaluation(r.GetDouble(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3)) : null;
        }
    }

    public void SaveCached(string key, CachedEvaluation value, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            using var cmd = _connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO evolution_cache(key, score, answer, reason, created_at, tokens) VALUES (@key, @score, @answer, @reason, @at, @tokens)
                ON CONFLICT(key) DO UPDATE SET score = excluded.score, answer = excluded.answer, reason = excluded.reason,
                    created_at = excluded.created_at, tokens = excluded.tokens
                """;
            cmd.With("@key", key);
            cmd.With("@score", value.Score);
            cmd.With("@answer", value.Answer);
            cmd.With("@reason", (object?)value.Reason ?? DBNull.Value);
            cmd.With("@at", now.ToUnixTimeMilliseconds());
            cmd.With("@tokens", value.Tokens);
            cmd.ExecuteNonQuery();
            tx.CommitFenced(_fence);
        }
    }

    /// <summary>Deletes up to <paramref name="batch"/> cache entries stored before <paramref name="cutoff"/>; returns how many.</summary>
    public int PurgeCache(DateTimeOffset cutoff, int batch)
    {
        lock (_gate)
        {
            return _connection.ExecuteFenced(_fence,
                "DELETE FROM evolution_cache WHERE key IN (SELECT key FROM evolution_cache WHERE created_at < @cutoff LIMIT @batch)",
                ("@cutoff", cutoff.ToUnixTimeMilliseconds()), ("@batch", batch));
        }
    }
}

/// <summary>A reusable evaluation: the case's score, the (trimmed) answer, the judge's reason and the tokens it cost.</summary>
public sealed record CachedEvaluation(double Score, string Answer, string? Reason, long Tokens = 0);
