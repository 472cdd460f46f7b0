using System.Globalization;
using System.Text.Json;
using D8.Contracts;
using Npgsql;

namespace D8.Orchestrator.Storage.Postgres;

/// <summary>
/// The task store in PostgreSQL, with the SQLite store's group commit: every <see cref="Save"/> goes into a channel;
/// one background loop drains whatever is waiting into a single transaction (one statement per table, the rows as
/// arrays), asks the <see cref="IWriteFence"/>, commits, then completes each caller — so nothing is answered before
/// it is committed, and transactions commit in the order their writes were saved (PostgresTaskStore.Commit.cs).
/// Rows are kept as JSON in a data column beside the indexed columns, the SQLite store's format, written by the commit
/// loop off the engine lock. Reads of finished tasks take their own pooled connections from the data source.
/// </summary>
public sealed partial class PostgresTaskStore : ITaskStore
{
    private static readonly string[] FinishedStates =
        [WireNames.Of(TaskState.Succeeded), WireNames.Of(TaskState.Failed), WireNames.Of(TaskState.Cancelled)];
    private readonly GroupCommitQueue _queue = new(nameof(PostgresTaskStore));
    private readonly NpgsqlDataSource _dataSource;
    private readonly IWriteFence _fence;
    private readonly ILogger<PostgresTaskStore> _logger;
    private readonly Task _writer;
    private volatile string? _lastError;

    /// <summary>Migrates the database's schema if needed and starts the commit loop.</summary>
    public PostgresTaskStore(PostgresDatabase database, IWriteFence fence, ILogger<PostgresTaskStore> logger)
    {
        database.Migrate();
        _dataSource = database.DataSource;
        _fence = fence;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The last group commit failed or was fenced (and none has succeeded since), or the writer stopped.</summary>
    public string? Problem => _writer.IsCompleted ? "the commit loop has stopped" : _lastError;

    /// <inheritdoc />
    public StoreSnapshot Load(DateTimeOffset idempotencySince)
    {
        var tasks = new List<TaskRow>();
        var workers = new List<WorkerRow>();
        var counts = new Dictionary<TaskState, long>();
        var keys = new List<IdempotencyRow>();
        long maxSeq = 0, tokens = 0;
        using var connection = _dataSource.OpenConnection();
        // One snapshot for every read, so the counts, the live rows and the keys agree with each other.
        using var tx = connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
        Read(connection, "SELECT data FROM tasks WHERE state IN ('queued', 'leased') ORDER BY seq", null, r => tasks.Add(TaskOf(r.GetString(0))));
        Read(connection, "SELECT data FROM workers", null,
            r => workers.Add(JsonSerializer.Deserialize(r.GetString(0), StoreJsonContext.Default.WorkerRow)!));
        Read(connection, "SELECT state, count(*) FROM tasks GROUP BY state", null, r =>
        {
            if (WireNames.TryParse(r.GetString(0), out var state)) counts[state] = r.GetInt64(1);
        });
        Read(connection, "SELECT idem_key, id, created_at FROM tasks WHERE idem_key IS NOT NULL AND created_at >= $1 ORDER BY created_at",
            c => c.Parameters.Add(new NpgsqlParameter<long> { TypedValue = idempotencySince.ToUnixTimeMilliseconds() }),
            r => keys.Add(new IdempotencyRow(r.GetString(0), r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)))));
        Read(connection, "SELECT COALESCE(MAX(seq), 0) FROM tasks", null, r => maxSeq = r.GetInt64(0));
        Read(connection, "SELECT value FROM meta WHERE key = 'tokens_reported'", null,
            r => tokens = long.Parse(r.GetString(0), CultureInfo.InvariantCulture));
        tx.Commit();
        return new StoreSnapshot(tasks, workers, counts, maxSeq, keys, tokens);
    }

    /// <inheritdoc />
    public TaskRow? ReadTask(string id)
    {
        using var cmd = _dataSource.CreateCommand("SELECT data FROM tasks WHERE id = $1");
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        return cmd.ExecuteScalar() is string json ? TaskOf(json) : null;
    }

    /// <inheritdoc />
    public IReadOnlyList<TaskRow> ReadFinished(TaskState? state, long? beforeSeq, int limit)
    {
        if (state is { } only && !only.IsTerminal()) return [];
        using var cmd = _dataSource.CreateCommand(
            "SELECT data FROM tasks WHERE state = ANY($1) AND seq < $2 ORDER BY seq DESC LIMIT $3");
        cmd.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = state is { } s ? [WireNames.Of(s)] : FinishedStates });
        cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = beforeSeq ?? long.MaxValue });
        cmd.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var rows = new List<TaskRow>(Math.Min(limit, 256));
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add(TaskOf(reader.GetString(0)));
        return rows;
    }

    private static TaskRow TaskOf(string json) => JsonSerializer.Deserialize(json, StoreJsonContext.Default.TaskRow)!;

    private static void Read(NpgsqlConnection connection, string sql, Action<NpgsqlCommand>? bind, Action<NpgsqlDataReader> row)
    {
        using var cmd = new NpgsqlCommand(sql, connection);
        bind?.Invoke(cmd);
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) row(reader);
    }

    /// <summary>Stops accepting writes and commits what is queued. The data source is the container's (or the caller's).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Complete();
        await _writer.ConfigureAwait(false);
    }
}
