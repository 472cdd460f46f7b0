using System.Collections.Concurrent;
using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using D8.Worker.Health;
using D8.Worker.RateLimits;
using D8.Worker.Telemetry;

namespace D8.Worker.Loop;

/// <summary>Reporting a result or failure, retrying while the orchestrator is unreachable until the lease would expire.</summary>
public sealed partial class WorkerLoop
{
    /// <param name="retryAt">For a rate limit: when the provider's retry-after ends. The report carries what is
    /// left of it when sent, so the orchestrator's cooldown ends with the worker's rather than a report later.</param>
    private Task FailAsync(InFlightRun run, FailureKind kind, string message, DateTimeOffset? retryAt) =>
        ReportAsync(run, (client, ct) => client.FailAsync(run.Lease.TaskId, new FailTaskRequest
        {
            LeaseId = run.Lease.LeaseId,
            Kind = kind,
            Message = message.Length > 1000 ? message[..1000] : message,
            RetryAfterSeconds = RetryAfterLeft(retryAt, time.GetUtcNow()),
        }, ct));

    /// <summary>Seconds left of a retry-after at <paramref name="now"/>; never zero (zero would mean "none given").</summary>
    internal static double? RetryAfterLeft(DateTimeOffset? retryAt, DateTimeOffset now) =>
        retryAt is { } at ? Math.Max(0.001, (at - now).TotalSeconds) : null;

    /// <summary>Sends a result, retrying while the orchestrator is unreachable until the lease would expire.</summary>
    private async Task ReportAsync(InFlightRun run, Func<WorkerClient, CancellationToken, Task> send)
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(5));
        while (true)
        {
            var worker = session.Worker;
            try
            {
                using var callTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(15), time);
                await send(worker, callTimeout.Token).ConfigureAwait(false);
                return;
            }
            catch (OrchestratorException e) when (OrchestratorSession.Lost(e, WorkerCall.TaskReport))
            {
                using var registerTimeout = new CancellationTokenSource(run.LeaseExpiresAt - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), time);
                try
                {
                    await session.ReRegisterAsync(worker, registerTimeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    LogReportGaveUp(run.Lease.TaskId, "could not register again before the lease expired");
                    return;
                }
            }
            catch (OrchestratorException e)
            {
                // 403/404/409: the lease is no longer ours (expired, taken back, task cancelled); nothing to report.
                LogReportRefused(run.Lease.TaskId, (int)e.Status, e.Message);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                health.SetOrchestratorReachable(false);
                var wait = backoff.Next();
                if (time.GetUtcNow() + wait > run.LeaseExpiresAt)
                {
                    LogReportGaveUp(run.Lease.TaskId, e.Message);
                    return;
                }
                LogReportRetry(run.Lease.TaskId, e.Message, wait.TotalSeconds);
                await Task.Delay(wait, time).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reporting task {TaskId} failed ({Reason}); trying again in {Seconds:F1} s, until its lease expires")]
    private partial void LogReportRetry(string taskId, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gave up reporting task {TaskId}: {Reason}")]
    private partial void LogReportGaveUp(string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Report for task {TaskId} refused ({Status}): {Reason}")]
    private partial void LogReportRefused(string taskId, int status, string reason);
}
