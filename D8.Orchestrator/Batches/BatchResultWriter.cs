using System.Threading.Channels;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Group commit of line outcomes: every batch hands its rows here and awaits the transaction that stored them, so
/// thousands of lines a second cost a few transactions a second. A row is "done" for its batch only once this
/// answers; after a crash, a line without a row is submitted again under the same idempotency key and re-attaches to
/// its task instead of running it twice.
/// </summary>
public sealed partial class BatchResultWriter : IAsyncDisposable
{
    private const int MaxRowsPerCommit = 2000;

    private readonly BatchStore _store;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public BatchResultWriter(BatchStore store, ILogger<BatchResultWriter> logger)
    {
        _store = store;
        _logger = logger;
        _loop = Task.Run(LoopAsync);
    }

    private readonly Channel<(ResultRow Row, TaskCompletionSource<bool> Done)> _rows =
        Channel.CreateUnbounded<(ResultRow, TaskCompletionSource<bool>)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Stores the row; true when it was new, false when the line already had an outcome.</summary>
    public Task<bool> WriteAsync(ResultRow row)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_rows.Writer.TryWrite((row, done))) done.SetException(new ObjectDisposedException(nameof(BatchResultWriter)));
        return done.Task;
    }

    private async Task LoopAsync()
    {
        var batch = new List<(ResultRow Row, TaskCompletionSource<bool> Done)>(MaxRowsPerCommit);
        while (await _rows.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxRowsPerCommit && _rows.Reader.TryRead(out var item)) batch.Add(item);
            try
            {
                var added = _store.AddResults([.. batch.Select(b => b.Row)]);
                for (var i = 0; i < batch.Count; i++) batch[i].Done.SetResult(added[i]);
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or ObjectDisposedException)
            {
                LogFailed(e, batch.Count);
                foreach (var (_, done) in batch) done.SetException(e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _rows.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing {Count} batch line outcomes failed")]
    private partial void LogFailed(Exception e, int count);
}
