using D8.Contracts.OpenAi;
using System.Data.Common;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Batches;

/// <summary>File metadata rows (<c>openai_files</c>); the bodies are at <see cref="BodyPath"/>.</summary>
public sealed partial class BatchStore
{
    /// <summary>Records a file whose body is already complete at <see cref="BodyPath"/>.</summary>
    public void AddFile(OpenAiFile file)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            AddFileLocked(file, tx);
            tx.CommitFenced(_fence);
        }
    }

    private void AddFileLocked(OpenAiFile file, DbTransaction tx)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO openai_files(id, purpose, filename, bytes, created_at, expires_at) VALUES (@id, @purpose, @name, @bytes, @created, @expires)
            ON CONFLICT(id) DO UPDATE SET bytes = excluded.bytes, created_at = excluded.created_at, expires_at = excluded.expires_at
            """;
        cmd.With("@id", file.Id);
        cmd.With("@purpose", file.Purpose);
        cmd.With("@name", file.Filename);
        cmd.With("@bytes", file.Bytes);
        cmd.With("@created", file.CreatedAt);
        cmd.With("@expires", (object?)file.ExpiresAt ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    public OpenAiFile? GetFile(string id)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT id, purpose, filename, bytes, created_at, expires_at FROM openai_files WHERE id = @id";
            cmd.With("@id", id);
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadFile(r) : null;
        }
    }

    /// <summary>
    /// Files of <paramref name="purpose"/> (or all), newest first unless <paramref name="ascending"/>, after the file
    /// <paramref name="after"/> (its id); returns up to <paramref name="limit"/> + 1 rows so the caller can tell has_more.
    /// </summary>
    public IReadOnlyList<OpenAiFile> ListFiles(string? purpose, string? after, int limit, bool ascending)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            var compare = ascending ? ">" : "<";
            // CAST: PostgreSQL cannot infer the type of a parameter bound to NULL and compared only with IS NULL.
            cmd.CommandText = $"""
                SELECT id, purpose, filename, bytes, created_at, expires_at FROM openai_files
                WHERE (CAST(@purpose AS TEXT) IS NULL OR purpose = @purpose)
                  AND (CAST(@after AS TEXT) IS NULL OR seq {compare} (SELECT seq FROM openai_files WHERE id = @after))
                ORDER BY seq {(ascending ? "ASC" : "DESC")} LIMIT @limit
                """;
            cmd.With("@purpose", (object?)purpose ?? DBNull.Value);
            cmd.With("@after", (object?)after ?? DBNull.Value);
            cmd.With("@limit", limit + 1);
            using var r = cmd.ExecuteReader();
            var files = new List<OpenAiFile>();
            while (r.Read()) files.Add(ReadFile(r));
            return files;
        }
    }

    /// <summary>Deletes the row, then the body. False when there was no such file.</summary>
    public bool DeleteFile(string id)
    {
        int rows;
        lock (_gate)
        {
            rows = _connection.ExecuteFenced(_fence, "DELETE FROM openai_files WHERE id = @id", ("@id", id));
        }
        DeleteBody(id);
        return rows > 0;
    }

    private void DeleteBody(string id)
    {
        try
        {
            File.Delete(BodyPath(id));
        }
        catch (IOException)
        {
            // Still open by a reader: the next retention pass finds no row and the OS frees it when closed.
        }
    }

    private static OpenAiFile ReadFile(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        Purpose = r.GetString(1),
        Filename = r.GetString(2),
        Bytes = r.GetInt64(3),
        CreatedAt = r.GetInt64(4),
        ExpiresAt = r.IsDBNull(5) ? null : r.GetInt64(5),
    };
}
