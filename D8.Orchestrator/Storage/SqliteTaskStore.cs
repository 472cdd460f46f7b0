using System.Threading.Channels;
using D8.Contracts;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>
/// SQLite store with group commit: every <see cref="Save"/> goes into a channel; one background loop drains whatever
/// is waiting into a single transaction, commits it, then completes each caller (see SqliteTaskStore.Commit.cs).
/// Reads of finished tasks use their own pooled connections (WAL lets them run beside the writer).
/// WAL with synchronous=NORMAL: a committed transaction is in the WAL file (OS page cache) before Commit returns,
/// so killing the process (even kill -9) loses nothing acknowledged; only a power cut can lose the last commits.
/// </summary>
public sealed partial class SqliteTaskStore : ITaskStore
{
    // State lists for SQL, built from the wire names the rows store: "'queued', 'leased'" and the three finished ones.
    private static readonly string LiveStates = SqlList([WireNames.Queued, WireNames.Leased]);
    private static readonly string FinishedStates = SqlList(WireNames.FinishedStates);
    private readonly Channel<PendingWork> _pending = Channel.CreateUnbounded<PendingWork>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly SqliteConnection _connection;
    private readonly string _readConnectionString;
    private readonly ILogger<SqliteTaskStore> _logger;
    private readonly Task _writer;

    /// <summary>Opens (and creates or upgrades if needed) the database file and starts the commit loop.</summary>
    public SqliteTaskStore(string path, ILogger<SqliteTaskStore> logger)
    {
        _logger = logger;
        var full = Path.GetFullPath(path);
        PrivateFolder.Create(Path.GetDirectoryName(full)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        _connection.Open();
        SqliteSchema.Execute(_connection, "PRAGMA journal_mode=WAL;");
        SqliteSchema.Execute(_connection, "PRAGMA synchronous=NORMAL;");
        SqliteSchema.Execute(_connection, "PRAGMA busy_timeout=5000;");
        SqliteSchema.Apply(_connection);
        _readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();
        FilePath = full;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The last group commit failed (and none has succeeded since), or the writer stopped.</summary>
    public string? Problem => _writer.IsCompleted ? "the commit loop has stopped" : _lastError;

    private volatile string? _lastError;

    /// <summary>Absolute path of the database file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public StoreSnapshot Load(DateTimeOffset idempotencySince)
    {
        var tasks = new List<string>();
        var workers = new List<string>();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var keys = new List<IdempotencyRow>();
        using var connection = OpenReader();
        Read(connection, $"SELECT data FROM tasks WHERE state IN ({LiveStates}) ORDER BY seq", null, r => tasks.Add(r.GetString(0)));
        Read(connection, "SELECT data FROM workers", null, r => workers.Add(r.GetString(0)));
        Read(connection, "SELECT state, count(*) FROM tasks GROUP BY state", null, r => counts[r.GetString(0)] = r.GetInt64(1));
        Read(connection, "SELECT idem_key, id, created_at FROM tasks WHERE idem_key IS NOT NULL AND created_at >= $since ORDER BY created_at",
            c => c.Parameters.AddWithValue("$since", idempotencySince.ToUnixTimeMilliseconds()),
            r => keys.Add(new IdempotencyRow(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)))));
        long maxSeq = 0, tokens = 0;
        Read(connection, "SELECT COALESCE(MAX(seq), 0) FROM tasks", null, r => maxSeq = r.GetInt64(0));
        Read(connection, "SELECT value FROM meta WHERE key = 'tokens_reported'", null, r => tokens = long.Parse(r.GetString(0), System.Globalization.CultureInfo.InvariantCulture));
        return new StoreSnapshot(tasks, workers, counts, maxSeq, keys, tokens);
    }

    /// <inheritdoc />
    public string? ReadTask(string id)
    {
        using var connection = OpenReader();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT data FROM tasks WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteScalar() as string;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ReadFinished(string? state, long? beforeSeq, int limit)
    {
        using var connection = OpenReader();
        using var cmd = connection.CreateCommand();
        // Without a state, "+state" keeps SQLite off the state index so it walks tasks_seq newest first and stops
        // after the page, instead of gathering and sorting every finished row.
        var where = state is null ? $"+state IN ({FinishedStates})" : "state = $state";
        cmd.CommandText = $"SELECT data FROM tasks WHERE {where} AND seq < $before ORDER BY seq DESC LIMIT $limit";
        if (state is not null)
        {
            if (!WireNames.FinishedStates.Contains(state, StringComparer.Ordinal)) return [];
            cmd.Parameters.AddWithValue("$state", state);
        }
        cmd.Parameters.AddWithValue("$before", beforeSeq ?? long.MaxValue);
        cmd.Parameters.AddWithValue("$limit", limit);
        var rows = new List<string>(Math.Min(limit, 256));
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add(reader.GetString(0));
        return rows;
    }

    private static string SqlList(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        return connection;
    }

    // Start-up reads use their own connection: a SqliteConnection is not safe to use from two threads, and the
    // commit loop owns _connection from the moment the store is constructed.
    private static void Read(SqliteConnection connection, string sql, Action<SqliteCommand>? bind, Action<SqliteDataReader> row)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        bind?.Invoke(cmd);
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) row(reader);
    }

    /// <summary>Stops accepting writes, commits what is queued, and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        SqliteConnection.ClearPool(new SqliteConnection(_readConnectionString));
    }
}
