using System.Collections.Concurrent;

namespace D8.Orchestrator.Hosting;

/// <summary>
/// The loops of long-lived drivers that submit tasks in-process (evolution runs, batches), by id. Each starts outside
/// the caller's execution context, so its spans and logs are its own; a loop that ends with its driver finished (not
/// the host stopping) is forgotten, together with whatever the owner forgets in <c>onFinished</c>.
/// </summary>
public sealed class DriverLoops
{
    private readonly ConcurrentDictionary<string, Task> _loops = new(StringComparer.Ordinal);

    /// <summary>Starts <paramref name="run"/>; when it ends and <paramref name="finished"/> says so, drops it and calls <paramref name="onFinished"/>.</summary>
    public void Start(string id, Func<Task> run, Func<bool> finished, Action onFinished)
    {
        // The loop may end before it is registered (a driver that cannot start): it waits for its registration first.
        var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (ExecutionContext.SuppressFlow())
        {
            _loops[id] = Task.Run(async () =>
            {
                await registered.Task.ConfigureAwait(false);
                try
                {
                    await run().ConfigureAwait(false);
                }
                finally
                {
                    if (finished())
                    {
                        onFinished();
                        _loops.TryRemove(id, out _);
                    }
                }
            });
        }
        registered.SetResult();
    }

    /// <summary>Completes when the loop of <paramref name="id"/> has ended (at once if there is none); never faults.</summary>
    public Task WhenEnded(string id) =>
        _loops.TryGetValue(id, out var loop) ? loop.ContinueWith(static _ => { }, TaskScheduler.Default) : Task.CompletedTask;

    /// <summary>Completes when every running loop has ended.</summary>
    public Task WhenAll() => Task.WhenAll(_loops.Values);
}
