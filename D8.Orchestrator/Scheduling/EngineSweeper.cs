namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Runs <see cref="SchedulingEngine.SweepAsync"/> on a <see cref="TimeProvider"/> timer (D8_SWEEP_INTERVAL_MS), and
/// retention (<see cref="SchedulingEngine.PurgeFinishedAsync"/>) every D8_RETENTION_INTERVAL_SECONDS beside it.
/// </summary>
public sealed partial class EngineSweeper(SchedulingEngine engine, Configuration.OrchestratorOptions options,
    TimeProvider time, ILogger<EngineSweeper> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            EveryAsync(options.SweepInterval, _ => engine.SweepAsync(), "Sweep", stoppingToken),
            EveryAsync(options.RetentionInterval, engine.PurgeFinishedAsync, "Retention", stoppingToken));

    private async Task EveryAsync(TimeSpan interval, Func<CancellationToken, Task> work, string name, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await work(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed run (e.g. a failed commit) must not stop the next ones.
                    LogFailed(ex, name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Job} failed")]
    private partial void LogFailed(Exception ex, string job);
}
