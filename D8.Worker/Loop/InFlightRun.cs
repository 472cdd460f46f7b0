using D8.Contracts;

namespace D8.Worker.Loop;

/// <summary>A leased task being run: its lease, its cancellation and why it was stopped.</summary>
public sealed class InFlightRun(TaskLease lease) : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private int _reason;

    public TaskLease Lease { get; } = lease;

    /// <summary>When the lease runs out unless renewed; heartbeats move it forward.</summary>
    public DateTimeOffset LeaseExpiresAt { get; set; } = lease.ExpiresAt;

    public CancellationToken Token => _cts.Token;

    public StopReason Reason => (StopReason)Volatile.Read(ref _reason);

    /// <summary>Stops the provider call for <paramref name="reason"/>; the first reason wins.</summary>
    public void Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, (int)StopReason.None) == (int)StopReason.None)
        {
            _cts.Cancel();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _cts.Dispose();
}
