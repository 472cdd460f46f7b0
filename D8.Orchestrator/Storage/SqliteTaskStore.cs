using System.Text.Json;
using D8.Contracts;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>
/// SQLite store with group commit: every <see cref="Save"/> goes into a channel; one background loop drains whatever
/// is waiting into a single transaction, commits it, then completes each caller (see SqliteTaskStore.Commit.cs).
/// Rows are kept as JSON in a data column beside the indexed columns (this store's private format, written by the
/// commit loop, off the engine lock). Reads of finished tasks use pooled read-only connections (WAL lets them run
/// beside the writer). Connections come from <see cref="SqliteDatabase"/> (WAL, synchronous=NORMAL): a committed
/// transaction is in the WAL file (OS page cache) before Commit returns, so killing the process (even kill -9) loses
/// nothing acknowledged; only a power cut can lose the last commits.
/// </summary>
public sealed partial class SqliteTaskStore : ITaskStore
{
    // State lists for SQL, built from the wire names the rows store: "'queued', 'leased'" and the three finished ones.
    private static readonly string LiveStates = SqlList([WireNames.Queued, WireNames.Leased]);
    private static readonly string FinishedStates = SqlList(WireNames.FinishedStates);
    private readonly GroupCommitQueue _queue = new(nameof(SqliteTaskStore));
    private readonly SqliteDatabase _database;
    private readonly SqliteDatabase? _owned;
    private readonly SqliteConnection _connection;
    private readonly ILogger<SqliteTaskStore> _logger;
    private readonly Task _writer;

    /// <summary>Opens the (migrated) database and starts the commit loop on a connection of its own.</summary>
    public SqliteTaskStore(SqliteDatabase database, ILogger<SqliteTaskStore> logger)
    {
        _database = database;
        _logger = logger;
        _connection = database.Open();
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>A store over a database of its own at <paramref name="path"/> (closed with the store).</summary>
    public SqliteTaskStore(string path, ILogger<SqliteTaskStore> logger) : this(new SqliteDatabase(path), logger)
    {
        _owned = _database;
    }

    /// <summary>The last group commit failed (and none has succeeded since), or the writer stopped.</summary>
    public string? Problem => _writer.IsCompleted ? "the commit loop has stopped" : _lastError;

    private volatile string? _lastError;

    /// <summary>Absolute path of the database file.</summary>
    public string FilePath => _database.FilePath;

    /// <inheritdoc />
    public StoreSnapshot Load(DateTimeOffset idempotencySince)
    {
        var tasks = new List<TaskRow>();
        var workers = new List<WorkerRow>();
        var counts = new Dictionary<TaskState, long>();
        var keys = new List<IdempotencyRow>();
        using var connection = _database.Open(readOnly: true);
        Read(connection, $"SELECT data FROM tasks WHERE state IN ({LiveStates}) ORDER BY seq", null, r => tasks.Add(TaskOf(r.GetString(0))));
        Read(connection, "SELECT data FROM workers", null,
            r => workers.Add(JsonSerializer.Deserialize(r.GetString(0), StoreJsonContext.Default.WorkerRow)!));
        Read(connection, "SELECT state, count(*) FROM tasks GROUP BY state", null, r =>
        {
            if (WireNames.TryParse(r.GetString(0), out var state)) counts[state] = r.GetInt64(1);
        });
        Read(connection, "SELECT idem_key, id, created_at FROM tasks WHERE idem_key IS NOT NULL AND created_at >= $since ORDER BY created_at",
            c => c.Parameters.AddWithValue("$since", idempotencySince.ToUnixTimeMilliseconds()),
            r => keys.Add(new IdempotencyRow(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)))));
        long maxSeq = 0, tokens = 0;
        Read(connection, "SELECT COALESCE(MAX(seq), 0) FROM tasks", null, r => maxSeq = r.GetInt64(0));
        Read(connection, "SELECT value FROM meta WHERE key = 'tokens_reported'", null, r => tokens = long.Parse(r.GetString(0), System.Globalization.CultureInfo.InvariantCulture));
        return new StoreSnapshot(tasks, workers, counts, maxSeq, keys, tokens);
    }

    /// <inheritdoc />
    public TaskRow? ReadTask(string id)
    {
        using var connection = _database.Open(readOnly: true);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT data FROM tasks WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteScalar() is string json ? TaskOf(json) : null;
    }

    /// <inheritdoc />
    public IReadOnlyList<TaskRow> ReadFinished(TaskState? state, long? beforeSeq, int limit)
    {
        if (state is { } only && !only.IsTerminal()) return [];
        using var connection = _database.Open(readOnly: true);
        using var cmd = connection.CreateCommand();
        // Without a state, "+state" keeps SQLite off the state index so it walks tasks_seq newest first and stops
        // after the page, instead of gathering and sorting every finished row.
        var where = state is null ? $"+state IN ({FinishedStates})" : "state = $state";
        cmd.CommandText = $"SELECT data FROM tasks WHERE {where} AND seq < $before ORDER BY seq DESC LIMIT $limit";
        if (state is { } s) cmd.Parameters.AddWithValue("$state", WireNames.Of(s));
        cmd.Parameters.AddWithValue("$before", beforeSeq ?? long.MaxValue);
        cmd.Parameters.AddWithValue("$limit", limit);
        var rows = new List<TaskRow>(Math.Min(limit, 256));
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add(TaskOf(reader.GetString(0)));
        return rows;
    }

    private static TaskRow TaskOf(string json) => JsonSerializer.Deserialize(json, StoreJsonContext.Default.TaskRow)!;

    private static string SqlList(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

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
        _queue.Complete();
        await _writer.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _owned?.Dispose();
    }
}
