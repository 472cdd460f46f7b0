using D8.Contracts;

namespace D8.Tests.Infrastructure;

/// <summary>The one "wait until the task is finished" of the tests: long-polls the orchestrator, no sleeps.</summary>
public static class TaskWaits
{
    /// <summary>
    /// Long-polls <c>GET /api/tasks/{id}?wait=</c> until the task is terminal; past <paramref name="timeout"/> it fails
    /// with the last state seen (cancelling <paramref name="ct"/> still cancels).
    /// </summary>
    public static async Task<TaskView> WaitUntilFinishedAsync(this OrchestratorClient client, string id, TimeSpan timeout, CancellationToken ct = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        TaskView? last = null;
        try
        {
            while (true)
            {
                last = await client.GetTaskAsync(id, TimeSpan.FromSeconds(10), deadline.Token);
                if (last.State.IsTerminal()) return last;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"task {id} still {last?.State.ToString() ?? "unread"} after {timeout.TotalSeconds:0} s");
        }
    }
}
