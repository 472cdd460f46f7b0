using D8.Contracts;

namespace D8.Cli.Tasks;

/// <summary>Waits for a task to reach a terminal state using the orchestrator's long-poll.</summary>
public static class TaskWaiter
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(30);

    /// <summary>Returns the terminal task, or throws <see cref="CliException"/> when <paramref name="timeout"/> passes first.</summary>
    public static async Task<TaskView> WaitAsync(OrchestratorClient client, string id, TimeSpan? timeout,
        TimeProvider time, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            var left = timeout is { } t ? t - time.GetElapsedTime(started) : PollWait;
            if (left <= TimeSpan.Zero)
            {
                throw new CliException($"task {id} did not finish within {timeout!.Value.TotalSeconds:0} s (it keeps running; see `d8 task {id}`)");
            }
            var wait = left < PollWait ? left : PollWait;
            var task = await client.GetTaskAsync(id, wait, ct);
            if (task.State.IsTerminal())
            {
                return task;
            }
        }
    }
}
