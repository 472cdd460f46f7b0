using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace D8.Orchestrator.Streaming;

/// <summary>One reader of one task's relayed text (see <see cref="TaskStreamHub"/> for the contract).</summary>
public sealed class TaskStreamSubscription : IDisposable
{
    private readonly Channel<string> _channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskStreamHub _hub;
    private long _unread;
    private volatile bool _truncated;
    private int _disposed;

    internal TaskStreamSubscription(string taskId, TaskStreamHub hub)
    {
        TaskId = taskId;
        _hub = hub;
        Deltas = new CountingReader(this);
    }

    public string TaskId { get; }

    /// <summary>
    /// Text pieces in the order the provider produced them. Completes when the task reaches a terminal state (or at
    /// once, for a task that had already ended).
    /// </summary>
    public ChannelReader<string> Deltas { get; }

    /// <summary>True once pieces were dropped for this reader (it read too slowly, or subscribed after text had gone
    /// by); nothing more arrives after the drop, and the rest comes from the stored result.</summary>
    public bool Truncated
    {
        get => _truncated;
        internal set => _truncated = value;
    }

    /// <summary>Characters waiting to be read.</summary>
    public long Unread => Interlocked.Read(ref _unread);

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _hub.Unsubscribe(this);
        _channel.Writer.TryComplete();
        while (_channel.Reader.TryRead(out var piece)) Consumed(piece);
    }

    /// <summary>Offers a live piece (under the hub's lock): taken if it fits this reader's and the hub's bounds.</summary>
    internal void Offer(string text)
    {
        if (_truncated) return;
        if (Unread + text.Length > _hub.Limits.SubscriberChars || !_hub.TryReserve(text.Length))
        {
            _truncated = true;
            return;
        }
        Accept(text);
    }

    /// <summary>Takes a piece already counted against the hub's bound.</summary>
    internal void Accept(string text)
    {
        Interlocked.Add(ref _unread, text.Length);
        if (!_channel.Writer.TryWrite(text))
        {
            Consumed(text); // disposed meanwhile
        }
    }

    internal void Complete() => _channel.Writer.TryComplete();

    private void Consumed(string piece)
    {
        Interlocked.Add(ref _unread, -piece.Length);
        _hub.Release(piece.Length);
    }

    /// <summary>The channel's reader, releasing each piece's characters from the bounds as it is read.</summary>
    private sealed class CountingReader(TaskStreamSubscription owner) : ChannelReader<string>
    {
        private ChannelReader<string> Inner => owner._channel.Reader;

        public override Task Completion => Inner.Completion;

        public override bool CanCount => true;

        public override int Count => Inner.Count;

        public override bool TryRead([MaybeNullWhen(false)] out string item)
        {
            if (!Inner.TryRead(out item)) return false;
            owner.Consumed(item);
            return true;
        }

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            Inner.WaitToReadAsync(cancellationToken);
    }
}
