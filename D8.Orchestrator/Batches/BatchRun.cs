using System.Collections.Concurrent;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Gateway;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Batches;

/// <summary>
/// One batch's driver: validates the input file (BatchRun.Validate.cs), feeds its lines to the engine as tasks with
/// at most D8_BATCH_WINDOW of them live at once and records each outcome (BatchRun.Feed.cs), then writes the output and
/// error files (BatchRun.Finalize.cs). Each line's task has the idempotency key <c>{batch id}:{line}</c>, so after a
/// restart a line without a stored outcome re-attaches to its task (or its stored result) instead of running again.
/// This file: state, the loop, cancel and expiry.
/// </summary>
public sealed partial class BatchRun
{
    private readonly Lock _gate = new();
    private readonly SchedulingEngine _engine;
    private readonly ModelCatalog _models;
    private readonly BatchStore _store;
    private readonly BatchResultWriter _writer;
    private readonly BatchOptions _options;
    private readonly BatchTelemetry _telemetry;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, string> _live = new();

    public BatchRun(BatchRecord record, SchedulingEngine engine, ModelCatalog models, BatchStore store, BatchResultWriter writer,
        BatchOptions options, BatchTelemetry telemetry, TimeSpan retention, TimeProvider time, ILogger logger)
    {
        Record = record;
        _engine = engine;
        _models = models;
        _store = store;
        _writer = writer;
        _options = options;
        _telemetry = telemetry;
        _retention = retention;
        _time = time;
        _logger = logger;
        if (record.Ending is not null) _stop.Cancel();
    }

    /// <summary>The record (read and changed under the run's lock).</summary>
    private BatchRecord Record { get; }

    public string Id => Record.Id;

    /// <summary>Tasks of this batch queued or running right now (at most D8_BATCH_WINDOW).</summary>
    public int LiveTasks => _live.Count;

    public OpenAiBatch View()
    {
        lock (_gate) return Record.View();
    }

    public bool IsTerminal
    {
        get { lock (_gate) return BatchStatus.IsTerminal(Record.Status); }
    }

    /// <summary>Runs the batch to its end, or until the host stops (it then resumes at the next start).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var expiry = _time.CreateTimer(_ => Stop(BatchStatus.Expired), null, Clamp(Record.ExpiresAt - _time.GetUtcNow()),
            Timeout.InfiniteTimeSpan);
        try
        {
            string status;
            lock (_gate) status = Record.Status;
            if (status == BatchStatus.Validating && !await ValidateAsync(stopping).ConfigureAwait(false)) return;
            lock (_gate) status = Record.Status;
            if (status is BatchStatus.InProgress or BatchStatus.Cancelling) await FeedAsync(stopping).ConfigureAwait(false);
            if (!stopping.IsCancellationRequested) await FinalizeAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Host shutdown: the batch stays unfinished in the store and resumes at the next start.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException
                                      or InvalidOperationException or EngineException)
        {
            LogBatchFailed(e, Id);
            Fail(new BatchError("batch_failed", "The batch stopped: " + e.Message));
        }
    }

    /// <summary>
    /// Asks the batch to stop (cancel from the client, or its completion window ran out): no new line starts, live tasks
    /// are cancelled, and the lines that did not run go to the error file with code batch_cancelled or batch_expired.
    /// False when the batch had already ended.
    /// </summary>
    public bool Stop(string ending)
    {
        lock (_gate)
        {
            if (BatchStatus.IsTerminal(Record.Status) || Record.Status == BatchStatus.Finalizing) return false;
            if (Record.Ending is not null) return true;
            Record.Ending = ending;
            if (ending == BatchStatus.Cancelled)
            {
                Record.Status = BatchStatus.Cancelling;
                Record.CancellingAt = _time.GetUtcNow();
            }
            _store.Save(Record);
        }
        _stop.Cancel();
        foreach (var taskId in _live.Values) _ = CancelTaskAsync(taskId);
        return true;
    }

    private async Task CancelTaskAsync(string taskId)
    {
        try
        {
            await _engine.CancelAsync(taskId).ConfigureAwait(false);
        }
        catch (EngineException)
        {
            // Already finished: its watcher records what it gave.
        }
    }

    /// <summary>Ends the batch as failed (no output), e.g. its input file is missing or over 50,000 requests.</summary>
    private void Fail(BatchError error)
    {
        lock (_gate)
        {
            Record.Status = BatchStatus.Failed;
            Record.FailedAt = _time.GetUtcNow();
            (Record.Errors ??= []).Add(error);
            _store.ClearResults(Id);
            _store.Save(Record);
        }
        _telemetry.Ended(BatchStatus.Failed);
    }

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait;

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch {BatchId}: the driver stopped")]
    private partial void LogBatchFailed(Exception e, string batchId);
}
