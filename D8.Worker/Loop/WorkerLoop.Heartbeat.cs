using System.Collections.Concurrent;
using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using D8.Worker.Health;
using D8.Worker.RateLimits;
using D8.Worker.Telemetry;

namespace D8.Worker.Loop;

/// <summary>Heartbeats: renew leases, carry cancels, lost leases, cooldown and drain back from the orchestrator.</summary>
public sealed partial class WorkerLoop
{
    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var worker = session.Worker;
            try
            {
                var response = await worker.HeartbeatAsync(new HeartbeatRequest
                {
                    InFlight = _inFlight.Count,
                    TokensPerSecond = _lastTokensPerSecond,
                    Healthy = health.CanServe,
                    Status = health.Status,
                    LeaseIds = [.. _inFlight.Keys],
                    Budget = [.. budget.Usage().Select(u => new BudgetWindow(u.Window, u.Used, u.Limit, u.Length.TotalSeconds))],
                    BudgetReadyAt = BudgetWait() is { } wait && wait > TimeSpan.Zero ? time.GetUtcNow() + wait : null,
                }, cancellationToken).ConfigureAwait(false);
                health.SetOrchestratorReachable(true);
                Apply(response);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OrchestratorException e) when (OrchestratorSession.Lost(e, WorkerCall.Self))
            {
                try
                {
                    await session.ReRegisterAsync(worker, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OrchestratorException or TaskCanceledException)
            {
                health.SetOrchestratorReachable(false);
                LogHeartbeatFailed(e.Message);
            }
            try
            {
                await Task.Delay(session.HeartbeatInterval, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>How long until this worker may send a request: its cooldown, or its budget refilling for a small task.</summary>
    private TimeSpan BudgetWait()
    {
        var budgetWait = budget.WaitFor(SmallestTask);
        var cooldown = _cooldown.Remaining;
        return budgetWait > cooldown ? budgetWait : cooldown;
    }

    private void Apply(HeartbeatResponse response)
    {
        foreach (var run in _inFlight.Values)
        {
            if (response.LeaseExpiresAt > run.LeaseExpiresAt) run.LeaseExpiresAt = response.LeaseExpiresAt;
        }
        foreach (var taskId in response.CancelTaskIds)
        {
            foreach (var run in _inFlight.Values.Where(r => r.Lease.TaskId == taskId)) run.Stop(StopReason.Cancelled);
        }
        foreach (var leaseId in response.LostLeases)
        {
            if (_inFlight.TryGetValue(leaseId, out var run)) run.Stop(StopReason.Lost);
        }
        if (response.CooldownUntil is { } until && until > time.GetUtcNow()) _cooldown.Extend(until - time.GetUtcNow());
        if (response.Drain && !_draining)
        {
            _draining = true;
            LogDrainRequested();
            _leasing?.Cancel();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat failed: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The orchestrator asked this worker to drain")]
    private partial void LogDrainRequested();
}
