using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>
/// A connection of its own to the orchestrator's SQLite file for a feature that keeps its own tables beside the task
/// store's (prompt evolution, the Batch API): same file, WAL, synchronous=NORMAL, a 5 s busy timeout, no pooling.
/// </summary>
public static class SideConnection
{
    /// <summary>Opens the file (creating it, and its folder with mode 0700, if needed) in WAL mode.</summary>
    public static SqliteConnection Open(string dbPath)
    {
        var full = Path.GetFullPath(dbPath);
        PrivateFolder.Create(Path.GetDirectoryName(full)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        foreach (var pragma in (string[])["PRAGMA journal_mode=WAL;", "PRAGMA synchronous=NORMAL;", "PRAGMA busy_timeout=5000;"])
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = pragma;
            cmd.ExecuteNonQuery();
        }
        return connection;
    }
}
