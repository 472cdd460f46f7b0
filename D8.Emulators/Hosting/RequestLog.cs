namespace D8.Emulators.Hosting;

/// <summary>Thread-safe log of received requests with awaitable "a matching request arrived" signals.</summary>
public sealed class RequestLog
{
    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<(Func<RecordedRequest, bool> Match, TaskCompletionSource<RecordedRequest> Signal)> _waiters = [];
    private long _sequence;

    /// <summary>A snapshot of every request so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Snapshot()
    {
        lock (_gate) return [.. _requests];
    }

    /// <summary>Number of requests received so far.</summary>
    public int Count
    {
        get { lock (_gate) return _requests.Count; }
    }

    /// <summary>Completes when a request matching <paramref name="match"/> has arrived (including ones already logged).</summary>
    /// <exception cref="TimeoutException">No matching request arrived within <paramref name="timeout"/>.</exception>
    public async Task<RecordedRequest> WaitForAsync(Func<RecordedRequest, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var signal = new TaskCompletionSource<RecordedRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        (Func<RecordedRequest, bool>, TaskCompletionSource<RecordedRequest>) waiter = (match, signal);
        lock (_gate)
        {
            var existing = _requests.FirstOrDefault(match);
            if (existing is not null) return existing;
            _waiters.Add(waiter);
        }
        try
        {
            return await signal.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching request arrived within {timeout} ({Count} requests received).");
        }
        finally
        {
            lock (_gate) _waiters.Remove(waiter);
        }
    }

    /// <summary>Completes when the <paramref name="count"/>-th request matching <paramref name="match"/> has arrived.</summary>
    public async Task<RecordedRequest> WaitForCountAsync(Func<RecordedRequest, bool> match, int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var seen = 0;
        // Stateful predicate: it is evaluated exactly once per request, in arrival order, under the lock.
        var lastSeq = 0L;
        return await WaitForAsync(r =>
        {
            if (r.Sequence <= lastSeq || !match(r)) return false;
            lastSeq = r.Sequence;
            return ++seen >= count;
        }, timeout, cancellationToken).ConfigureAwait(false);
    }

    internal RecordedRequest Add(Func<long, RecordedRequest> create)
    {
        List<TaskCompletionSource<RecordedRequest>> fire = [];
        RecordedRequest request;
        lock (_gate)
        {
            request = create(++_sequence);
            _requests.Add(request);
            foreach (var (match, signal) in _waiters)
            {
                if (match(request)) fire.Add(signal);
            }
        }
        foreach (var signal in fire) signal.TrySetResult(request);
        return request;
    }
}
