using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>
/// The orchestrator's SQLite file: the one place that opens it. Read-write connections get WAL, synchronous=NORMAL
/// and a 5 s busy timeout (a committed transaction is in the WAL before Commit returns, so kill -9 loses nothing
/// acknowledged); read-only connections are pooled. The schema (<see cref="SqliteSchema"/>) is migrated on first use,
/// under a lock, before any connection is handed out.
/// </summary>
public sealed class SqliteDatabase : IStoreDatabase, IDisposable
{
    private static readonly string[] WriterPragmas = ["PRAGMA synchronous=NORMAL;", "PRAGMA busy_timeout=5000;"];
    private readonly Lock _gate = new();
    private readonly string _readWrite;
    private readonly string _readOnly;
    private volatile bool _migrated;

    /// <summary>The file at <paramref name="path"/> (created, with its folder at mode 0700, on first use).</summary>
    public SqliteDatabase(string path)
    {
        FilePath = Path.GetFullPath(path);
        _readWrite = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        _readOnly = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();
    }

    /// <summary>Absolute path of the database file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public string Provider => "sqlite";

    /// <inheritdoc />
    public void Migrate()
    {
        if (_migrated) return;
        lock (_gate)
        {
            if (_migrated) return;
            PrivateFolder.Create(Path.GetDirectoryName(FilePath)!);
            using (var connection = OpenWriter())
            {
                SqliteSchema.Migrate(connection);
            }
            _migrated = true;
        }
    }

    /// <summary>Opens a connection (read-write unless <paramref name="readOnly"/>) to the migrated file.</summary>
    public SqliteConnection Open(bool readOnly = false)
    {
        Migrate();
        if (!readOnly) return OpenWriter();
        var connection = new SqliteConnection(_readOnly);
        connection.Open();
        return connection;
    }

    DbConnection IStoreDatabase.OpenConnection(bool readOnly) => Open(readOnly);

    /// <inheritdoc />
    public ValueTask<DbConnection> OpenConnectionAsync(bool readOnly, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        // Microsoft.Data.Sqlite opens synchronously whatever the API: a local file, no network round trip.
        return ValueTask.FromResult<DbConnection>(Open(readOnly));
    }

    private SqliteConnection OpenWriter()
    {
        var connection = new SqliteConnection(_readWrite);
        connection.Open();
        // journal_mode=WAL is kept by the file; the others hold per connection.
        SqliteSchema.Execute(connection, "PRAGMA journal_mode=WAL;");
        foreach (var pragma in WriterPragmas)
        {
            SqliteSchema.Execute(connection, pragma);
        }
        return connection;
    }

    /// <summary>Closes the pooled read-only connections (the file can then be moved or deleted).</summary>
    public void Dispose() => SqliteConnection.ClearPool(new SqliteConnection(_readOnly));
}
