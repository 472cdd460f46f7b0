namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Task gets with ?wait= parked until their task is terminal: each gets a signal the finishing lock region completes
/// with its commit (<see cref="ChangeSet.Signal"/>), so the answer waits until the final row is durable. Runs under the
/// engine's lock.
/// </summary>
internal sealed class TerminalWaiters
{
    private readonly Dictionary<string, List<TaskCompletionSource<Task>>> _byTask = new(StringComparer.Ordinal);

    /// <summary>Waits parked right now.</summary>
    public int Count { get; private set; }

    /// <summary>A new wait for task <paramref name="id"/>.</summary>
    public TaskCompletionSource<Task> Add(string id)
    {
        var signal = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_byTask.TryGetValue(id, out var list))
        {
            _byTask[id] = list = [];
        }
        list.Add(signal);
        Count++;
        return signal;
    }

    /// <summary>The wait ended (signalled, timed out or its caller left).</summary>
    public void Remove(string id, TaskCompletionSource<Task> signal)
    {
        if (_byTask.TryGetValue(id, out var list) && list.Remove(signal))
        {
            Count--;
            if (list.Count == 0) _byTask.Remove(id);
        }
    }

    /// <summary>The waits on task <paramref name="id"/>, or null.</summary>
    public List<TaskCompletionSource<Task>>? Of(string id) => _byTask.GetValueOrDefault(id);
}
