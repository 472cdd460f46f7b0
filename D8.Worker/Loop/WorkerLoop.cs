using System.Collections.Concurrent;
using System.Net;
using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using D8.Worker.Health;
using D8.Worker.RateLimits;
using D8.Worker.Telemetry;

namespace D8.Worker.Loop;

/// <summary>
/// The worker's life: register, N slots long-polling for leases and running them, heartbeats that renew leases and
/// carry cancels, and a graceful drain on shutdown (finish within the grace period, release the rest, deregister).
/// </summary>
public sealed partial class WorkerLoop(
    OrchestratorSession session,
    TaskRunner runner,
    ProviderBudget budget,
    WorkerHealth health,
    WorkerTelemetry telemetry,
    WorkerOptions options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<WorkerLoop> log) : BackgroundService
{
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, InFlightRun> _inFlight = new(StringComparer.Ordinal);
    private CancellationTokenSource? _leasing;
    private long _cooldownUntilTicks;
    private double? _lastTokensPerSecond;
    private volatile bool _draining;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await session.RegisterAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        using var leasing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        _leasing = leasing;
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatLoopAsync(heartbeatStop.Token);
        var slots = Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(_ => SlotLoopAsync(leasing.Token)));

        // Slots end only once leasing stops (shutdown or drain) and their current task is done.
        var leasingStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (leasing.Token.Register(() => leasingStopped.TrySetResult()))
        {
            await Task.WhenAny(slots, leasingStopped.Task).ConfigureAwait(false);
        }
        if (!slots.IsCompleted)
        {
            LogDraining(_inFlight.Count, options.ShutdownGrace.TotalSeconds);
            using var graceTimer = new CancellationTokenSource(options.ShutdownGrace, time);
            var graceOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (graceTimer.Token.Register(() => graceOver.TrySetResult()))
            {
                if (await Task.WhenAny(slots, graceOver.Task).ConfigureAwait(false) != slots)
                {
                    foreach (var run in _inFlight.Values) run.Stop(StopReason.Released);
                }
            }
            await slots.ConfigureAwait(false);
        }

        await heartbeatStop.CancelAsync().ConfigureAwait(false);
        await heartbeat.ConfigureAwait(false);
        await DeregisterAsync().ConfigureAwait(false);
        if (_draining && !stoppingToken.IsCancellationRequested)
        {
            // The orchestrator asked for the drain: nothing left to do, so the process ends.
            lifetime.StopApplication();
        }
    }

    private async Task SlotLoopAsync(CancellationToken leasingToken)
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(15));
        while (!leasingToken.IsCancellationRequested)
        {
            try
            {
                var cooldown = new DateTimeOffset(Interlocked.Read(ref _cooldownUntilTicks), TimeSpan.Zero) - time.GetUtcNow();
                if (!health.CanServe || cooldown > TimeSpan.Zero)
                {
                    // Not ready, bad key or cooling down: wait, then look again.
                    var wait = cooldown > TimeSpan.Zero ? cooldown : TimeSpan.FromSeconds(1);
                    await Task.Delay(wait < TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), time, leasingToken).ConfigureAwait(false);
                    continue;
                }
                var generation = session.Generation;
                IReadOnlyList<TaskLease> leases;
                try
                {
                    leases = await session.Client.LeaseAsync(1, LongPoll, leasingToken).ConfigureAwait(false);
                    health.SetOrchestratorReachable(true);
                    backoff.Reset();
                }
                catch (OrchestratorException e) when (e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound)
                {
                    await session.ReRegisterAsync(generation, leasingToken).ConfigureAwait(false);
                    continue;
                }
                catch (Exception e) when (e is HttpRequestException or OrchestratorException or TaskCanceledException && !leasingToken.IsCancellationRequested)
                {
                    health.SetOrchestratorReachable(false);
                    LogLeaseFailed(e.Message);
                    await Task.Delay(backoff.Next(), time, leasingToken).ConfigureAwait(false);
                    continue;
                }
                foreach (var lease in leases)
                {
                    await RunLeaseAsync(lease).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (leasingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task RunLeaseAsync(TaskLease lease)
    {
        using var run = new InFlightRun(lease);
        _inFlight[lease.LeaseId] = run;
        var model = lease.Model ?? options.DefaultModel;
        using var activity = WorkerTelemetry.StartRun(lease, options.ProviderName, model);
        LogRunning(lease.TaskId, lease.Attempt, model);
        try
        {
            var estimate = ProviderBudget.Estimate(lease.Messages.Select(m => m.Content), lease.MaxTokens);
            if (await budget.AcquireAsync(estimate, run.Token).ConfigureAwait(false) is { } dayReset)
            {
                SetCooldown(dayReset);
                LogDailyBudgetSpent(dayReset.TotalMinutes);
                await FailAsync(run, FailureKind.Released, "the worker's daily request budget (D8_RPD) is spent", null).ConfigureAwait(false);
                return;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(run.Token);
            timeout.CancelAfter(options.RequestTimeout);
            RunResult result;
            try
            {
                result = await runner.RunAsync(lease, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && run.Reason == StopReason.None)
            {
                throw new TimeoutException($"the provider call took longer than D8_REQUEST_TIMEOUT_SECONDS ({options.RequestTimeout.TotalSeconds}s)");
            }
            if (result.TokensPerSecond is { } tps) _lastTokensPerSecond = tps;
            activity?.SetTag("gen_ai.usage.output_tokens", result.Usage?.CompletionTokens);
            await ReportAsync(run, (client, ct) => client.CompleteAsync(lease.TaskId, new CompleteTaskRequest
            {
                LeaseId = lease.LeaseId,
                Content = result.Content,
                FinishReason = result.FinishReason,
                Model = result.Model,
                Usage = result.Usage,
                TimeToFirstTokenMs = result.TimeToFirstTokenMs,
                DurationMs = result.DurationMs,
                TokensPerSecond = result.TokensPerSecond,
            }, ct)).ConfigureAwait(false);
            telemetry.Record("succeeded", result.TokensPerSecond, result.TimeToFirstTokenMs);
            LogSucceeded(lease.TaskId, result.Usage?.CompletionTokens, result.TokensPerSecond);
        }
        catch (OperationCanceledException) when (run.Reason != StopReason.None)
        {
            telemetry.Record(run.Reason.ToString().ToLowerInvariant(), null, null);
            LogStopped(lease.TaskId, run.Reason);
            if (run.Reason == StopReason.Cancelled)
            {
                await FailAsync(run, FailureKind.Cancelled, "cancelled at the client's request", null).ConfigureAwait(false);
            }
            else if (run.Reason == StopReason.Released)
            {
                await FailAsync(run, FailureKind.Released, "the worker is shutting down", null).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            var failure = ErrorClassifier.Classify(e, time.GetUtcNow());
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, failure.Message);
            telemetry.Record(failure.Class.ToString().ToLowerInvariant(), null, null);
            LogFailed(lease.TaskId, failure.Class, failure.Status, failure.Message);
            switch (failure.Class)
            {
                case FailureClass.RateLimited:
                    var wait = failure.RetryAfter ?? TimeSpan.FromSeconds(5);
                    SetCooldown(wait);
                    await FailAsync(run, FailureKind.RateLimited, failure.Message, wait.TotalSeconds).ConfigureAwait(false);
                    break;
                case FailureClass.Unauthorized:
                    health.SetUnauthorized(true);
                    LogUnauthorized(failure.Status);
                    await FailAsync(run, FailureKind.Released, "the provider rejected this worker's API key", null).ConfigureAwait(false);
                    break;
                case FailureClass.Permanent:
                    await FailAsync(run, FailureKind.Permanent, failure.Message, null).ConfigureAwait(false);
                    break;
                default:
                    await FailAsync(run, FailureKind.Transient, failure.Message, null).ConfigureAwait(false);
                    break;
            }
        }
        finally
        {
            _inFlight.TryRemove(lease.LeaseId, out _);
        }
    }

    private Task FailAsync(InFlightRun run, FailureKind kind, string message, double? retryAfterSeconds) =>
        ReportAsync(run, (client, ct) => client.FailAsync(run.Lease.TaskId, new FailTaskRequest
        {
            LeaseId = run.Lease.LeaseId,
            Kind = kind,
            Message = message.Length > 1000 ? message[..1000] : message,
            RetryAfterSeconds = retryAfterSeconds,
        }, ct));

    /// <summary>Sends a result, retrying while the orchestrator is unreachable until the lease would expire.</summary>
    private async Task ReportAsync(InFlightRun run, Func<OrchestratorClient, CancellationToken, Task> send)
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(5));
        while (true)
        {
            var generation = session.Generation;
            try
            {
                using var callTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(15), time);
                await send(session.Client, callTimeout.Token).ConfigureAwait(false);
                return;
            }
            catch (OrchestratorException e) when (e.Status == HttpStatusCode.Unauthorized)
            {
                using var registerTimeout = new CancellationTokenSource(run.LeaseExpiresAt - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), time);
                try
                {
                    await session.ReRegisterAsync(generation, registerTimeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    LogReportGaveUp(run.Lease.TaskId, "could not register again before the lease expired");
                    return;
                }
            }
            catch (OrchestratorException e)
            {
                // 404/409: the lease is no longer ours (expired, taken back, task cancelled); nothing to report.
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
                await Task.Delay(wait, time).ConfigureAwait(false);
            }
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var generation = session.Generation;
            try
            {
                var response = await session.Client.HeartbeatAsync(new HeartbeatRequest
                {
                    InFlight = _inFlight.Count,
                    TokensPerSecond = _lastTokensPerSecond,
                    Healthy = health.CanServe,
                    Status = health.Status,
                    LeaseIds = [.. _inFlight.Keys],
                }, cancellationToken).ConfigureAwait(false);
                health.SetOrchestratorReachable(true);
                Apply(response);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OrchestratorException e) when (e.Status is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound)
            {
                try
                {
                    await session.ReRegisterAsync(generation, cancellationToken).ConfigureAwait(false);
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
        if (response.CooldownUntil is { } until && until > time.GetUtcNow()) SetCooldown(until - time.GetUtcNow());
        if (response.Drain && !_draining)
        {
            _draining = true;
            LogDrainRequested();
            _leasing?.Cancel();
        }
    }

    private void SetCooldown(TimeSpan wait)
    {
        var until = (time.GetUtcNow() + wait).UtcTicks;
        long seen;
        do
        {
            seen = Interlocked.Read(ref _cooldownUntilTicks);
            if (seen >= until) return;
        }
        while (Interlocked.CompareExchange(ref _cooldownUntilTicks, until, seen) != seen);
    }

    private async Task DeregisterAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
            await session.Client.DeregisterAsync(timeout.Token).ConfigureAwait(false);
            LogDeregistered();
        }
        catch (Exception e) when (e is HttpRequestException or OrchestratorException or OperationCanceledException)
        {
            LogDeregisterFailed(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped leasing; waiting up to {Grace}s for {InFlight} running task(s)")]
    private partial void LogDraining(int inFlight, double grace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease request failed ({Reason}); backing off")]
    private partial void LogLeaseFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Running task {TaskId} (attempt {Attempt}) on model {Model}")]
    private partial void LogRunning(string taskId, int attempt, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} succeeded: {Tokens} tokens at {TokensPerSecond:F1} tokens/s")]
    private partial void LogSucceeded(string taskId, int? tokens, double? tokensPerSecond);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} stopped: {Reason}")]
    private partial void LogStopped(string taskId, StopReason reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} failed as {Class} (status {Status}): {Message}")]
    private partial void LogFailed(string taskId, FailureClass @class, int? status, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "The provider rejected the API key ({Status}): check D8_PROVIDER_API_KEY. The worker reports itself unhealthy and leases nothing until a probe succeeds")]
    private partial void LogUnauthorized(int? status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Daily request budget (D8_RPD) spent; not leasing for {Minutes:F0} min")]
    private partial void LogDailyBudgetSpent(double minutes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gave up reporting task {TaskId}: {Reason}")]
    private partial void LogReportGaveUp(string taskId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Report for task {TaskId} refused ({Status}): {Reason}")]
    private partial void LogReportRefused(string taskId, int status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat failed: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The orchestrator asked this worker to drain")]
    private partial void LogDrainRequested();

    [LoggerMessage(Level = LogLevel.Information, Message = "Deregistered from the orchestrator")]
    private partial void LogDeregistered();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deregistration failed: {Reason}")]
    private partial void LogDeregisterFailed(string reason);
}
