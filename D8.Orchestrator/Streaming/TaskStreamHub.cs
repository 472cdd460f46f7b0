using System.Threading.Channels;

namespace D8.Orchestrator.Streaming;

/// <summary>
/// Where the text a worker relays for a streamed task (<c>Stream = true</c>) meets the caller reading it.
/// The relay side (worker protocol) writes pieces; the gateway subscribes by task id.
/// </summary>
/// <remarks>
/// Contract for readers: pieces arrive in order and concatenate to a prefix of the task's final content. A reader
/// must also watch the task itself: a subscription may end early or fall behind (the hub keeps memory bounded by
/// dropping pieces for a slow reader and setting <see cref="TaskStreamSubscription.Truncated"/>), so the rest of the
/// answer is whatever of the stored result the reader has not sent yet.
/// </remarks>
public sealed class TaskStreamHub
{
    /// <summary>Subscribes to <paramref name="taskId"/>'s relayed text. Dispose when the call ends.</summary>
    public TaskStreamSubscription Subscribe(string taskId)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        return new TaskStreamSubscription(taskId, Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true }));
    }
}

/// <summary>One reader of one task's relayed text.</summary>
public sealed class TaskStreamSubscription(string taskId, Channel<string> channel) : IDisposable
{
    public string TaskId { get; } = taskId;

    /// <summary>Text pieces in the order the provider produced them.</summary>
    public ChannelReader<string> Deltas => channel.Reader;

    /// <summary>True once pieces were dropped for this reader; the rest comes from the stored result.</summary>
    public bool Truncated { get; internal set; }

    /// <inheritdoc />
    public void Dispose() => channel.Writer.TryComplete();
}
