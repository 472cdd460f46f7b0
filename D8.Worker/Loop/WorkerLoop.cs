using System.Collections.Concurrent;
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
    private static readonly TimeSpan MinimumPoll = TimeSpan.FromMilliseconds(50);
    /// <summary>The smallest request the budget must have room for before a slot asks for a lease.</summary>
    private const int SmallestTask = 64;
    private readonly ConcurrentDictionary<string, InFlightRun> _inFlight = new(StringComparer.Ordinal);
    private CancellationTokenSource? _leasing;
    private readonly Cooldown _cooldown = new(time);
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

    /// <summary>
    /// One slot: ask for a lease once the budget has room, run it, report it. Once the provider has answered, the slot
    /// asks for its next lease while the result is still being reported: the orchestrator parks that poll until the
    /// report frees the slot and then hands the next task at once, so a task costs one round trip to the orchestrator
    /// rather than a report and then a lease request. At most one report is outstanding per slot, and the next run
    /// starts only once it is answered. The exchange is written down once, for both sides, in docs/worker-protocol.md
    /// ("Parked polls and in-flight reports"); the orchestrator's side is D8.Orchestrator/Scheduling/LeaseProtocol.cs.
    /// </summary>
    private async Task SlotLoopAsync(CancellationToken leasingToken)
    {
        Task? reporting = null;
        var backoff = new Backoff(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(15));
        try
        {
            while (!leasingToken.IsCancellationRequested)
            {
                try
                {
                    var cooldown = BudgetWait();
                    if (!health.CanServe || cooldown > TimeSpan.Zero)
                    {
                        // Not ready, bad key, cooling down or waiting for budget: wait, then look again. A lease is
                        // asked for only once a request fits the budget, so no lease is held while the budget refills.
                        var wait = cooldown > TimeSpan.Zero ? cooldown : TimeSpan.FromSeconds(1);
                        await Task.Delay(wait < TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), time, leasingToken).ConfigureAwait(false);
                        continue;
                    }
                    var worker = session.Worker;
                    IReadOnlyList<TaskLease> leases;
                    try
                    {
                        // With a tokens-per-minute budget the poll says how much it can take now, and asks again
                        // when the budget next gets room back (a longer task may fit then).
                        var poll = budget.NextTokenRefill() is { } refill && refill < LongPoll
                            ? (refill < MinimumPoll ? MinimumPoll : refill)
                            : LongPoll;
                        leases = await worker.LeaseAsync(1, poll, leasingToken, budget.TokenHeadroom()).ConfigureAwait(false);
                        health.SetOrchestratorReachable(true);
                        backoff.Reset();
                    }
                    catch (OrchestratorException e) when (OrchestratorSession.Lost(e, WorkerCall.Self))
                    {
                        await session.ReRegisterAsync(worker, leasingToken).ConfigureAwait(false);
                        continue;
                    }
                    catch (Exception e) when (leasingToken.IsCancellationRequested
                        && e is HttpRequestException or OrchestratorException or OperationCanceledException)
                    {
                        // The worker is stopping: a lease call that failed meanwhile (e.g. 503 from an orchestrator that
                        // stops too, as `docker compose stop` signals both) ends this slot like the cancellation would.
                        return;
                    }
                    catch (Exception e) when (e is HttpRequestException or OrchestratorException or TaskCanceledException)
                    {
                        health.SetOrchestratorReachable(false);
                        LogLeaseFailed(e.Message);
                        await Task.Delay(backoff.Next(), time, leasingToken).ConfigureAwait(false);
                        continue;
                    }
                    foreach (var lease in leases)
                    {
                        if (reporting is not null)
                        {
                            await reporting.ConfigureAwait(false);
                            reporting = null;
                        }
                        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        var run = RunLeaseAsync(lease, answered);
                        if (await Task.WhenAny(run, answered.Task).ConfigureAwait(false) == run)
                        {
                            if (await run.ConfigureAwait(false) is var pause && pause > TimeSpan.Zero)
                            {
                                await Task.Delay(pause, time, leasingToken).ConfigureAwait(false);
                            }
                        }
                        else
                        {
                            reporting = run;
                        }
                    }
                }
                catch (OperationCanceledException) when (leasingToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }
        finally
        {
            // A result still being reported is sent before the slot ends (shutdown waits for it as for a run).
            if (reporting is not null) await reporting.ConfigureAwait(false);
        }
    }

    private async Task DeregisterAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), time);
            await session.Worker.DeregisterAsync(timeout.Token).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Deregistered from the orchestrator")]
    private partial void LogDeregistered();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deregistration failed: {Reason}")]
    private partial void LogDeregisterFailed(string reason);
}
