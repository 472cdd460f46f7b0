using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Health;

namespace D8.Worker.Loop;

/// <summary>The worker's registration with the orchestrator: registers with backoff and re-registers once when the token is refused.</summary>
public sealed partial class OrchestratorSession(
    OrchestratorClient client, WorkerOptions options, WorkerHealth health, TimeProvider time, ILogger<OrchestratorSession> log)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _generation;

    public OrchestratorClient Client => client;

    /// <summary>Bumped by every successful registration; callers pass the value they saw to <see cref="ReRegisterAsync"/>.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Heartbeat interval the orchestrator asked for.</summary>
    public TimeSpan HeartbeatInterval { get; private set; } = TimeSpan.FromSeconds(10);

    /// <summary>Registers, retrying with capped exponential backoff until the orchestrator answers.</summary>
    public async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                var response = await client.RegisterAsync(new RegisterWorkerRequest
                {
                    Name = options.WorkerName,
                    Provider = options.ProviderName,
                    Models = options.Models,
                    TaskKinds = options.TaskKinds,
                    MaxConcurrency = options.Concurrency,
                    Host = new HostInfo(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
                        Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
                        System.Runtime.InteropServices.RuntimeInformation.OSDescription),
                    Version = typeof(OrchestratorSession).Assembly.GetName().Version?.ToString(),
                }, cancellationToken).ConfigureAwait(false);
                HeartbeatInterval = TimeSpan.FromSeconds(Math.Max(0.2, response.HeartbeatIntervalSeconds));
                Interlocked.Increment(ref _generation);
                health.SetOrchestratorReachable(true);
                LogRegistered(response.WorkerId, options.WorkerName, options.ProviderName, string.Join(",", options.Models), HeartbeatInterval.TotalSeconds);
                return;
            }
            catch (OrchestratorException e) when (e.Status is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                health.SetOrchestratorReachable(true);
                LogJoinRefused(options.OrchestratorUrl);
            }
            catch (Exception e) when (e is HttpRequestException or OrchestratorException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                health.SetOrchestratorReachable(false);
                LogUnreachable(options.OrchestratorUrl, e.Message);
            }
            await Task.Delay(backoff.Next(), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Registers again unless another caller already did since <paramref name="seenGeneration"/>.</summary>
    public async Task ReRegisterAsync(int seenGeneration, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Generation != seenGeneration) return;
            LogReRegistering();
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered as worker {WorkerId} ({Name}, provider {Provider}, models {Models}); heartbeat every {Interval}s")]
    private partial void LogRegistered(string workerId, string name, string provider, string models, double interval);

    [LoggerMessage(Level = LogLevel.Error, Message = "The orchestrator at {Url} refused the join token (D8_JOIN_TOKEN); retrying")]
    private partial void LogJoinRefused(Uri url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orchestrator at {Url} unreachable ({Reason}); retrying registration")]
    private partial void LogUnreachable(Uri url, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The orchestrator no longer knows this worker's token (restarted?): registering again")]
    private partial void LogReRegistering();
}
