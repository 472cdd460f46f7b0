namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Idempotency keys inside the window (D8_IDEMPOTENCY_WINDOW_HOURS, from the task's creation) and the task each
/// names. A key of a task that is still live stays until the task finishes, whatever its age.
/// </summary>
internal sealed class IdempotencyIndex
{
    private readonly Dictionary<string, string> _ids = new(StringComparer.Ordinal);
    private readonly Queue<(DateTimeOffset Since, string Key)> _byAge = new();

    public int Count => _ids.Count;

    public bool TryGet(string key, out string taskId) => _ids.TryGetValue(key, out taskId!);

    public void Add(string key, string taskId, DateTimeOffset createdAt)
    {
        if (_ids.TryAdd(key, taskId))
        {
            _byAge.Enqueue((createdAt, key));
        }
    }

    public void Remove(string key) => _ids.Remove(key);

    /// <summary>Forgets keys created before <paramref name="windowStart"/> unless their task is still live.</summary>
    public void Expire(DateTimeOffset windowStart, DateTimeOffset now, Func<string, bool> isLive)
    {
        while (_byAge.TryPeek(out var oldest) && oldest.Since < windowStart)
        {
            _byAge.Dequeue();
            if (!_ids.TryGetValue(oldest.Key, out var id)) continue;
            if (isLive(id))
            {
                _byAge.Enqueue((now, oldest.Key));
            }
            else
            {
                _ids.Remove(oldest.Key);
            }
        }
    }
}
