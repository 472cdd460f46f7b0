namespace D8.Tests.Infrastructure;

/// <summary>
/// Temporary SQLite files for tests and benchmarks (this file is also compiled into D8.Benchmarks): a unique path under
/// the temp folder, and deleting the file with its WAL and shared-memory companions. Never under D8.AppHost/.d8-data.
/// </summary>
public static class TempDatabase
{
    /// <summary>A fresh path, e.g. /tmp/d8-tests/engine-&lt;guid&gt;.db (the store creates the folder).</summary>
    public static string NewPath(string prefix, string folder = "d8-tests") =>
        Path.Combine(Path.GetTempPath(), folder, $"{prefix}-{Guid.NewGuid():N}.db");

    /// <summary>Deletes the database and its -wal/-shm files and the orchestrator's .lock; best effort (a file may still be open on failure paths).</summary>
    public static void Delete(string path)
    {
        foreach (var suffix in new[] { "", "-wal", "-shm", ".lock" })
        {
            try { File.Delete(path + suffix); } catch (IOException) { /* best effort */ }
        }
    }
}
