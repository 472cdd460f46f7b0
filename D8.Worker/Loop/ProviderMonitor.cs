using D8.Worker.Execution;
using D8.Worker.Health;
using D8.Worker.Providers;

namespace D8.Worker.Loop;

/// <summary>Gets the provider ready at start-up (Ollama pull) and probes it: every 5 s while not ready, every 30 s after.</summary>
public sealed partial class ProviderMonitor(ChatProvider provider, WorkerHealth health, TimeProvider time, ILogger<ProviderMonitor> log)
    : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var prepared = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!prepared)
                {
                    await provider.PrepareAsync(stoppingToken).ConfigureAwait(false);
                    prepared = true;
                }
                var problem = await provider.ProbeAsync(stoppingToken).ConfigureAwait(false);
                Apply(problem, unauthorized: false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var failure = ErrorClassifier.Classify(e, time.GetUtcNow());
                Apply($"provider probe failed: {failure.Message}", failure.Class == FailureClass.Unauthorized);
            }
            var wait = health.CanServe ? TimeSpan.FromSeconds(30) : TimeSpan.FromSeconds(5);
            try
            {
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Apply(string? problem, bool unauthorized)
    {
        var wasServing = health.CanServe;
        var wasUnauthorized = health.Unauthorized;
        health.SetProvider(unauthorized ? null : problem);
        health.SetUnauthorized(unauthorized);
        if (unauthorized && !wasUnauthorized) LogUnauthorized();
        else if (health.CanServe && !wasServing) LogReady();
        else if (!health.CanServe && problem is not null && (wasServing || problem != _lastProblem)) LogNotReady(problem);
        _lastProblem = problem;
    }

    private string? _lastProblem;

    [LoggerMessage(Level = LogLevel.Information, Message = "Provider ready: it answers and the model is present")]
    private partial void LogReady();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider not ready: {Problem}")]
    private partial void LogNotReady(string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Provider rejected the API key (401/403): check D8_PROVIDER_API_KEY. Not leasing tasks until a probe succeeds")]
    private partial void LogUnauthorized();
}
