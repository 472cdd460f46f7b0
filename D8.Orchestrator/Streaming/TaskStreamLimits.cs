namespace D8.Orchestrator.Streaming;

/// <summary>
/// How much relayed text <see cref="TaskStreamHub"/> may hold, in UTF-16 characters. A slow reader loses pieces (and
/// reads the rest from the stored result) instead of growing memory; the worker is never held up.
/// </summary>
/// <param name="SubscriberChars">Unread text one subscriber may have waiting (<c>D8_STREAM_SUBSCRIBER_CHARS</c>).</param>
/// <param name="BacklogChars">Text kept for a task nobody subscribed to yet (<c>D8_STREAM_BACKLOG_CHARS</c>); at most
/// <paramref name="SubscriberChars"/>, since a subscriber takes the backlog over.</param>
/// <param name="TotalChars">Everything the hub holds at once, over all tasks (<c>D8_STREAM_TOTAL_CHARS</c>).</param>
/// <param name="EndedTasks">Ended task ids remembered, so a subscription after the end completes at once.</param>
public sealed record TaskStreamLimits(int SubscriberChars = 65_536, int BacklogChars = 65_536, long TotalChars = 16_777_216,
    int EndedTasks = 4096)
{
    /// <summary>Reads the <c>D8_STREAM_*</c> keys (absent: the defaults); a bad value is refused through <paramref name="settings"/>.</summary>
    public static TaskStreamLimits Load(SettingsReader settings)
    {
        var defaults = new TaskStreamLimits();
        var subscriber = (int)settings.Whole("D8_STREAM_SUBSCRIBER_CHARS", defaults.SubscriberChars, 1, int.MaxValue);
        var backlog = (int)settings.Whole("D8_STREAM_BACKLOG_CHARS", Math.Min(defaults.BacklogChars, subscriber), 1, subscriber);
        var total = settings.Whole("D8_STREAM_TOTAL_CHARS", defaults.TotalChars, 1, long.MaxValue);
        return defaults with { SubscriberChars = subscriber, BacklogChars = backlog, TotalChars = total };
    }
}
