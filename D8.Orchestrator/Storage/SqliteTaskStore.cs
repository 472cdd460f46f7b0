using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace D8.Orchestrator.Storage;

/// <summary>
/// SQLite store with group commit: every <see cref="Save"/> goes into a channel; one background loop drains whatever
/// is waiting into a single transaction, commits it, then completes each caller. Under load many requests share
/// one commit, so durability does not cap throughput.
/// WAL with synchronous=NORMAL: a committed transaction is in the WAL file (OS page cache) before Commit returns,
/// so killing the process (even kill -9) loses nothing acknowledged; only a power cut can lose the last commits.
/// </summary>
public sealed partial class SqliteTaskStore : ITaskStore
{
    private const int MaxBatch = 4096;
    private readonly Channel<PendingSave> _pending = Channel.CreateUnbounded<PendingSave>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly SqliteConnection _connection;
    private readonly ILogger<SqliteTaskStore> _logger;
    private readonly Task _writer;

    /// <summary>Opens (and creates if needed) the database file and starts the commit loop.</summary>
    public SqliteTaskStore(string path, ILogger<SqliteTaskStore> logger)
    {
        _logger = logger;
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA synchronous=NORMAL;");
        Execute("PRAGMA busy_timeout=5000;");
        Execute("""
            CREATE TABLE IF NOT EXISTS tasks (
                id    TEXT PRIMARY KEY,
                seq   INTEGER NOT NULL,
                state TEXT NOT NULL,
                data  TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS tasks_state_seq ON tasks(state, seq);
            CREATE TABLE IF NOT EXISTS workers (
                id    TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                data  TEXT NOT NULL);
            """);
        FilePath = full;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The last group commit failed (and none has succeeded since), or the writer stopped.</summary>
    public string? Problem => _writer.IsCompleted ? "the commit loop has stopped" : _lastError;

    private volatile string? _lastError;

    /// <summary>Absolute path of the database file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public StoreSnapshot Load()
    {
        var tasks = new List<string>();
        var workers = new List<string>();
        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT data FROM tasks ORDER BY seq";
            using var reader = cmd.ExecuteReader();
            while (reader.Read()) tasks.Add(reader.GetString(0));
        }
        using (var cmd = _connection.CreateCommand())
        {
            cmd.CommandText = "SELECT data FROM workers";
            using var reader = cmd.ExecuteReader();
            while (reader.Read()) workers.Add(reader.GetString(0));
        }
        return new StoreSnapshot(tasks, workers);
    }

    /// <inheritdoc />
    public Task Save(StoreWrite[] writes)
    {
        var save = new PendingSave(writes);
        if (!_pending.Writer.TryWrite(save))
        {
            return Task.FromException(new ObjectDisposedException(nameof(SqliteTaskStore), "The store is shutting down."));
        }
        return save.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingSave>(MaxBatch);
        using var upsertTask = _connection.CreateCommand();
        upsertTask.CommandText = """
            INSERT INTO tasks(id, seq, state, data) VALUES ($id, $seq, $state, $data)
            ON CONFLICT(id) DO UPDATE SET state = excluded.state, data = excluded.data
            """;
        var tId = upsertTask.Parameters.Add("$id", SqliteType.Text);
        var tSeq = upsertTask.Parameters.Add("$seq", SqliteType.Integer);
        var tState = upsertTask.Parameters.Add("$state", SqliteType.Text);
        var tData = upsertTask.Parameters.Add("$data", SqliteType.Text);
        using var upsertWorker = _connection.CreateCommand();
        upsertWorker.CommandText = """
            INSERT INTO workers(id, state, data) VALUES ($id, $state, $data)
            ON CONFLICT(id) DO UPDATE SET state = excluded.state, data = excluded.data
            """;
        var wId = upsertWorker.Parameters.Add("$id", SqliteType.Text);
        var wState = upsertWorker.Parameters.Add("$state", SqliteType.Text);
        var wData = upsertWorker.Parameters.Add("$data", SqliteType.Text);
        // Only the newest snapshot of a row within one transaction needs writing.
        var latest = new Dictionary<(StoreTable, string), StoreWrite>();

        while (await _pending.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            latest.Clear();
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var save))
            {
                batch.Add(save);
                foreach (var w in save.Writes)
                {
                    latest[(w.Table, w.Id)] = w;
                }
            }
            try
            {
                using (var tx = _connection.BeginTransaction())
                {
                    upsertTask.Transaction = tx;
                    upsertWorker.Transaction = tx;
                    foreach (var w in latest.Values)
                    {
                        if (w.Table == StoreTable.Tasks)
                        {
                            tId.Value = w.Id; tSeq.Value = w.Seq; tState.Value = w.State; tData.Value = w.Json;
                            upsertTask.ExecuteNonQuery();
                        }
                        else
                        {
                            wId.Value = w.Id; wState.Value = w.State; wData.Value = w.Json;
                            upsertWorker.ExecuteNonQuery();
                        }
                    }
                    tx.Commit();
                }
                _lastError = null;
                foreach (var save in batch)
                {
                    save.Done.TrySetResult();
                }
            }
            catch (SqliteException ex)
            {
                LogCommitFailed(ex, batch.Count);
                _lastError = "the last commit failed: " + ex.Message;
                foreach (var save in batch)
                {
                    save.Done.TrySetException(ex);
                }
            }
        }
    }

    private void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Stops accepting writes, commits what is queued, and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Group commit of {Count} saves failed; those requests get an error")]
    private partial void LogCommitFailed(Exception ex, int count);

    private sealed class PendingSave(StoreWrite[] writes)
    {
        public StoreWrite[] Writes { get; } = writes;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
