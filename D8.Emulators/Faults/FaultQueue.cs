using System.Collections.Concurrent;

namespace D8.Emulators.Faults;

/// <summary>Queued one-shot faults (consumed in order, one per request) over an optional sticky fault.</summary>
public sealed class FaultQueue
{
    private readonly ConcurrentQueue<Fault> _queue = new();
    private volatile Fault? _sticky;

    /// <summary>The next request gets <paramref name="fault"/> (after earlier queued ones).</summary>
    public void Enqueue(Fault fault) => _queue.Enqueue(fault);

    /// <summary>Every request gets <paramref name="fault"/> once the queue is empty; <c>null</c> turns it off.</summary>
    public void SetSticky(Fault? fault) => _sticky = fault;

    /// <summary>Drops queued faults and the sticky one.</summary>
    public void Clear()
    {
        _queue.Clear();
        _sticky = null;
    }

    /// <summary>Queued faults not yet consumed.</summary>
    public int Pending => _queue.Count;

    internal Fault? Next() => _queue.TryDequeue(out var fault) ? fault : _sticky;
}
