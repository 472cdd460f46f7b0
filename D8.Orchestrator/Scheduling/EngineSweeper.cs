namespace D8.Orchestrator.Scheduling;

/// <summary>Runs <see cref="SchedulingEngine.SweepAsync"/> on a <see cref="TimeProvider"/> timer.</summary>
public sealed partial class EngineSweeper(SchedulingEngine engine, Configuration.OrchestratorOptions options,
    TimeProvider time, ILogger<EngineSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await engine.SweepAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One failed sweep (e.g. a failed commit) must not stop the next ones.
                    LogSweepFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Sweep failed")]
    private partial void LogSweepFailed(Exception ex);
}
