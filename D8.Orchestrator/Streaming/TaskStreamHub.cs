namespace D8.Orchestrator.Streaming;

/// <summary>
/// Where the text a worker relays for a streamed task (<c>Stream = true</c>) meets the caller reading it.
/// The relay side (worker protocol, <see cref="TaskRelayApi"/>) publishes pieces through the engine, which checks the
/// lease first; the gateway subscribes by task id. The engine ends a task's stream when the task reaches a terminal
/// state, which completes every subscription.
/// </summary>
/// <remarks>
/// Contract for readers: pieces arrive in order and concatenate to a prefix of the task's final content. A reader
/// must also watch the task itself: a subscription may end early or fall behind (the hub keeps memory bounded by
/// dropping pieces for a slow reader and setting <see cref="TaskStreamSubscription.Truncated"/>), so the rest of the
/// answer is whatever of the stored result the reader has not sent yet.
/// <para>Memory: pieces published before anyone subscribed wait in a backlog (at most
/// <see cref="TaskStreamLimits.BacklogChars"/> per task) that the first subscriber takes over; each subscriber has at
/// most <see cref="TaskStreamLimits.SubscriberChars"/> unread; everything together stays under
/// <see cref="TaskStreamLimits.TotalChars"/>. Past a bound the pieces are dropped for that reader, never waited for.</para>
/// </remarks>
public sealed class TaskStreamHub(TaskStreamLimits limits)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TaskStream> _streams = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ended = new(StringComparer.Ordinal);
    private readonly Queue<string> _endedOrder = new();
    private long _held;

    public TaskStreamHub() : this(new TaskStreamLimits())
    {
    }

    public TaskStreamLimits Limits { get; } = limits;

    /// <summary>Characters held right now: backlogs plus what subscribers have not read yet.</summary>
    public long HeldChars => Interlocked.Read(ref _held);

    /// <summary>Tasks the hub keeps state for (live streamed tasks with pieces or subscribers).</summary>
    public int StreamCount
    {
        get { lock (_gate) { return _streams.Count; } }
    }

    /// <summary>Subscribes to <paramref name="taskId"/>'s relayed text. Dispose when the call ends.</summary>
    /// <remarks>A subscription to a task whose stream already ended completes at once (truncated: the stored result
    /// has the whole answer). One that comes after pieces were handed to an earlier subscriber is truncated too.</remarks>
    public TaskStreamSubscription Subscribe(string taskId)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        var subscription = new TaskStreamSubscription(taskId, this);
        lock (_gate)
        {
            if (_ended.Contains(taskId))
            {
                subscription.Truncated = true;
                subscription.Complete();
                return subscription;
            }
            var stream = StreamOf(taskId);
            if (stream.Published > 0 && (stream.TakenOver || stream.BacklogLost))
            {
                subscription.Truncated = true;
            }
            else
            {
                // The backlog's characters are already counted in _held: they move to the subscriber as they are.
                foreach (var piece in stream.Backlog) subscription.Accept(piece);
            }
            stream.Backlog.Clear();
            stream.BacklogChars = 0;
            stream.TakenOver = true;
            stream.Subscribers.Add(subscription);
        }
        return subscription;
    }

    /// <summary>
    /// Hands a relayed piece to the task's subscribers (or its backlog). Never blocks: a reader without room loses the
    /// piece and every later one. Called by the engine under its lock, after it checked the relaying lease.
    /// </summary>
    public void Publish(string taskId, string text)
    {
        if (string.IsNullOrEmpty(text)) return;
        lock (_gate)
        {
            if (_ended.Contains(taskId)) return;
            var stream = StreamOf(taskId);
            stream.Published += text.Length;
            if (!stream.TakenOver && !stream.BacklogLost)
            {
                if (stream.BacklogChars + text.Length <= Limits.BacklogChars && TryReserve(text.Length))
                {
                    stream.Backlog.Add(text);
                    stream.BacklogChars += text.Length;
                }
                else
                {
                    // A subscriber would miss the beginning anyway: keep nothing rather than a useless head.
                    Release(stream.BacklogChars);
                    stream.Backlog.Clear();
                    stream.BacklogChars = 0;
                    stream.BacklogLost = true;
                }
            }
            foreach (var subscriber in stream.Subscribers) subscriber.Offer(text);
        }
    }

    /// <summary>The task reached a terminal state: its subscriptions complete and its state goes.</summary>
    public void End(string taskId)
    {
        lock (_gate)
        {
            if (_streams.Remove(taskId, out var stream))
            {
                Release(stream.BacklogChars);
                foreach (var subscriber in stream.Subscribers) subscriber.Complete();
            }
            if (_ended.Add(taskId))
            {
                _endedOrder.Enqueue(taskId);
                while (_endedOrder.Count > Limits.EndedTasks) _ended.Remove(_endedOrder.Dequeue());
            }
        }
    }

    internal void Unsubscribe(TaskStreamSubscription subscription)
    {
        lock (_gate)
        {
            if (_streams.TryGetValue(subscription.TaskId, out var stream) && stream.Subscribers.Remove(subscription)
                && stream.Subscribers.Count == 0 && stream.Published == 0)
            {
                // Nothing was relayed (perhaps never will be: not a streamed task): forget it. Once text was relayed
                // the entry stays until the task ends, so a later subscriber knows it missed the beginning.
                _streams.Remove(subscription.TaskId);
            }
        }
    }

    /// <summary>Counts <paramref name="chars"/> against the overall bound; false when they do not fit.</summary>
    internal bool TryReserve(int chars)
    {
        if (Interlocked.Add(ref _held, chars) <= Limits.TotalChars) return true;
        Interlocked.Add(ref _held, -chars);
        return false;
    }

    internal void Release(long chars)
    {
        if (chars != 0) Interlocked.Add(ref _held, -chars);
    }

    private TaskStream StreamOf(string taskId)
    {
        if (!_streams.TryGetValue(taskId, out var stream))
        {
            stream = new TaskStream();
            _streams.Add(taskId, stream);
        }
        return stream;
    }

    private sealed class TaskStream
    {
        public List<string> Backlog { get; } = [];
        public int BacklogChars { get; set; }
        /// <summary>The backlog overflowed and was dropped: a subscriber would miss the beginning.</summary>
        public bool BacklogLost { get; set; }
        /// <summary>A subscriber took the backlog over; no backlog is kept from then on.</summary>
        public bool TakenOver { get; set; }
        public long Published { get; set; }
        public List<TaskStreamSubscription> Subscribers { get; } = [];
    }
}
