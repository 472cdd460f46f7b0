using System.Text;
using System.Threading.Channels;
using D8.Contracts;

namespace D8.Worker.Relay;

/// <summary>
/// Relays a streamed lease's text to the orchestrator while the provider produces it (docs/worker-protocol.md,
/// "Streaming relay"): the run hands each text delta to <see cref="Add"/>, which only appends to a bounded buffer; one
/// sender posts what has gathered, one request at a time, each carrying the offset it starts at. Nothing here can
/// slow or fail the run: a full buffer, a refused piece (stale lease) or an unreachable orchestrator just ends the
/// relay — the completion report carries the whole answer, and the caller gets the rest from it. A relay refused
/// because the registration is gone does not register again either: the report that follows does
/// (<see cref="D8.Worker.Loop.OrchestratorSession.Lost"/>).
/// </summary>
public sealed partial class StreamRelay : IDisposable
{
    /// <summary>Text that may wait for the sender before the relay stops taking more.</summary>
    public const int BufferChars = 65_536;

    /// <summary>How long a finished run waits for its queued text to go out before it reports.</summary>
    public static readonly TimeSpan Drain = TimeSpan.FromSeconds(2);

    private readonly WorkerClient _client;
    private readonly TaskLease _lease;
    private readonly int _bufferChars;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly StringBuilder _pending = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationToken _stop;
    private Task? _sender;
    private bool _closed;
    private bool _full;
    private long _offset;

    /// <param name="bufferChars">Text that may wait for the sender; past it the relay stops taking text.</param>
    public StreamRelay(WorkerClient client, TaskLease lease, int bufferChars, ILogger log)
    {
        _client = client;
        _lease = lease;
        _bufferChars = bufferChars;
        _log = log;
        _stop = _cts.Token;
    }

    /// <summary>Characters the orchestrator accepted.</summary>
    public long Relayed => Interlocked.Read(ref _offset);

    /// <summary>Queues a text delta; never blocks and never throws.</summary>
    public void Add(string text)
    {
        if (string.IsNullOrEmpty(text)) return;
        lock (_gate)
        {
            if (_closed || _full || _stop.IsCancellationRequested) return;
            if (_pending.Length + text.Length > _bufferChars)
            {
                // The orchestrator takes pieces slower than the provider makes them: stop here rather than hold the
                // run or grow; what is already queued still goes out (it is a prefix of the answer).
                _full = true;
                LogStopped(_log, _lease.TaskId, $"more than {_bufferChars} characters waiting to be relayed");
            }
            else
            {
                _pending.Append(text);
                _sender ??= StartSender();
            }
        }
        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// The run succeeded: sends what is still queued, waiting at most <paramref name="drain"/> so the relayed text
    /// reaches readers before the completion report ends their stream; past that the relay is cut.
    /// </summary>
    public async Task CloseAsync(TimeSpan drain, TimeProvider time)
    {
        Task? sender;
        lock (_gate)
        {
            _closed = true;
            sender = _sender;
        }
        _wake.Writer.TryWrite(true);
        if (sender is null) return;
        try
        {
            await sender.WaitAsync(drain, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogStopped(_log, _lease.TaskId, $"the relay did not drain within {drain.TotalSeconds:0.#} s");
            await _cts.CancelAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogStopped(_log, _lease.TaskId, e.Message);
        }
    }

    /// <summary>The run failed or was stopped: nothing more is sent (unsent text stays unseen, so a failure before
    /// any text reached the orchestrator remains an ordinary retry).</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _closed = true;
            _pending.Clear();
        }
        _cts.Cancel();
    }

    /// <summary>The sender runs outside the run's trace: one span per piece would bury the task's trace (the
    /// orchestrator does not trace relay requests either, see TraceFilter).</summary>
    private Task StartSender()
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(SendLoopAsync);
        }
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            string? text = null;
            lock (_gate)
            {
                if (_pending.Length > 0)
                {
                    var take = Math.Min(_pending.Length, RelayRequest.MaxTextChars);
                    if (take < _pending.Length && char.IsHighSurrogate(_pending[take - 1])) take--;
                    text = _pending.ToString(0, take);
                    _pending.Remove(0, take);
                }
                else if (_closed || _full)
                {
                    return;
                }
            }
            try
            {
                if (text is null)
                {
                    await _wake.Reader.ReadAsync(_stop).ConfigureAwait(false);
                    continue;
                }
                await _client.RelayAsync(_lease.TaskId, new RelayRequest { LeaseId = _lease.LeaseId, Offset = Relayed, Text = text },
                    _stop).ConfigureAwait(false);
                Interlocked.Add(ref _offset, text.Length);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogStopped(_log, _lease.TaskId, e.Message);
                lock (_gate)
                {
                    _full = true;
                    _pending.Clear();
                }
                return;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Abandon();
        _cts.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay of task {TaskId} stopped ({Reason}); its report carries the whole answer")]
    private static partial void LogStopped(ILogger logger, string taskId, string reason);
}
