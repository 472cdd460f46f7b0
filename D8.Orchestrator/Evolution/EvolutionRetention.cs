using D8.Orchestrator.Configuration;

namespace D8.Orchestrator.Evolution;

/// <summary>Runs <see cref="EvolutionService.PurgeFinished"/> every D8_RETENTION_INTERVAL_SECONDS (beside the tasks' retention).</summary>
public sealed partial class EvolutionRetention(EvolutionService service, OrchestratorOptions options, TimeProvider time,
    ILogger<EvolutionRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.RetentionInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    service.PurgeFinished(stoppingToken);
                }
                catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
                {
                    // One failed pass (e.g. the database busy) must not stop the next ones.
                    LogFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Evolution retention failed")]
    private partial void LogFailed(Exception ex);
}
