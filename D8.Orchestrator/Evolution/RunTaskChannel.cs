using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// A run's link to the engine: submits (or re-attaches to) one task and watches it to its end, reporting both to the
/// run's loop through <paramref name="submitted"/> and <paramref name="finished"/>; cancels what is no longer wanted.
/// Holds no run state: the loop owns it, and <paramref name="ended"/> / <paramref name="knownId"/> read it (under the
/// run's lock). A watcher never dies silently: anything but an engine error or the end of watching is retried.
/// </summary>
internal sealed partial class RunTaskChannel(
    SchedulingEngine engine, TimeProvider time, ILogger logger, string runId,
    Action<string, string> submitted, Action<string, TaskView?, string?> finished, Func<bool> ended, Func<string, string?> knownId)
{
    private readonly ILogger _logger = logger;
    private readonly CancellationTokenSource _watchers = new();

    /// <summary>Stops every watcher (the run ended or the host is stopping).</summary>
    public Task StopWatchingAsync() => _watchers.CancelAsync();

    /// <summary>Cancels the given tasks; one already finished (or gone) is skipped.</summary>
    public async Task CancelAsync(IEnumerable<string> taskIds)
    {
        foreach (var id in taskIds)
        {
            try
            {
                await engine.CancelAsync(id).ConfigureAwait(false);
            }
            catch (EngineException)
            {
                // Already finished (or gone): nothing to cancel.
            }
        }
    }

    /// <summary>Submits (or re-attaches to) one task and reports its end to the loop. Called outside the run's lock.</summary>
    public async Task SubmitAndWatchAsync(string key, SubmitTaskRequest request, string? knownTaskId)
    {
        var ct = _watchers.Token;
        try
        {
            var id = knownTaskId;
            if (id is null)
            {
                var (view, _) = await engine.SubmitAsync(request, null, null).ConfigureAwait(false);
                id = view.Id;
                submitted(key, id);
                if (ended())
                {
                    // The run stopped while this submit was under way: the task is not wanted any more.
                    await engine.CancelAsync(id).ConfigureAwait(false);
                    return;
                }
            }
            while (true)
            {
                var view = await engine.GetAsync(id, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                if (view.State.IsTerminal())
                {
                    finished(key, view, null);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The run ended or the host is stopping.
        }
        catch (EngineException e)
        {
            finished(key, null, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else (a busy store under load): a watcher that died silently would leave its task in flight
            // for ever and the run waiting on it. Watch again after a pause; the idempotency key makes a resubmit safe.
            LogWatchRetry(e, runId, key);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await SubmitAndWatchAsync(key, request, knownId(key) ?? knownTaskId).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evolution {RunId}: watching task {Key} failed; watching it again")]
    private partial void LogWatchRetry(Exception e, string runId, string key);
}
