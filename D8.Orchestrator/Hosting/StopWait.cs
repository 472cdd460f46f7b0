using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Hosting;

/// <summary>
/// Keeps the orchestrator serving for a while after SIGTERM, so workers stopped at the same moment (`docker compose
/// stop`/`down` stops every service of a project at once) can finish their tasks, report them and deregister.
/// It waits at least <see cref="Linger"/> (idle workers deregister within it), then while any worker still holds a
/// lease, at most <see cref="MaxWait"/>. Enabled by D8_STOP_WAIT_SECONDS (the compose file sets it).
/// </summary>
internal sealed partial class StopWait(SchedulingEngine engine, TimeProvider time, ILogger<StopWait> logger, TimeSpan maxWait, TimeSpan linger)
    : IHostedLifecycleService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>Upper bound of the wait.</summary>
    public TimeSpan MaxWait { get; } = maxWait;

    /// <summary>Minimum wait, for idle workers stopping at the same moment to deregister.</summary>
    public TimeSpan Linger { get; } = linger;

    /// <summary>Runs before the web server stops (IHostedLifecycleService.StoppingAsync), so requests are still served.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var start = time.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            var elapsed = time.GetElapsedTime(start);
            // Leases, not the heartbeat's in-flight count: a task leased since the last heartbeat counts too.
            var busy = engine.List(TaskState.Leased, 100, null).Items.Select(t => t.LeasedBy).Distinct().ToList();
            if (elapsed >= Linger && busy.Count == 0)
            {
                LogDone(elapsed.TotalSeconds);
                return;
            }
            if (elapsed >= MaxWait)
            {
                LogGaveUp(MaxWait.TotalSeconds, busy.Count);
                return;
            }
            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: no worker holds a task any more after {Seconds:F1} s")]
    private partial void LogDone(double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping after {Seconds} s although {Busy} worker(s) still hold tasks: their leases expire and the tasks are retried")]
    private partial void LogGaveUp(double seconds, int busy);
}

/// <summary>Registers <see cref="StopWait"/> when D8_STOP_WAIT_SECONDS is set.</summary>
public static class StopWaitExtensions
{
    /// <summary>Reads D8_STOP_WAIT_SECONDS (max wait; unset or 0: off) and D8_STOP_LINGER_SECONDS (min wait, default 3),
    /// refusing a bad value like every other key.</summary>
    public static WebApplicationBuilder AddStopWait(this WebApplicationBuilder builder)
    {
        var (maxSeconds, lingerSeconds) = SettingsReader.Load(builder.Configuration, settings =>
            (settings.Whole("D8_STOP_WAIT_SECONDS", 0, 0, 86_400), settings.Whole("D8_STOP_LINGER_SECONDS", 3, 0, 86_400)));
        if (maxSeconds == 0) return builder;
        var maxWait = TimeSpan.FromSeconds(maxSeconds);
        builder.Services.AddHostedService(sp => new StopWait(sp.GetRequiredService<SchedulingEngine>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<StopWait>>(), maxWait, TimeSpan.FromSeconds(Math.Min(lingerSeconds, maxSeconds))));
        // The host's own stop timeout covers the wait plus the server's shutdown.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = maxWait + TimeSpan.FromSeconds(5));
        return builder;
    }
}
