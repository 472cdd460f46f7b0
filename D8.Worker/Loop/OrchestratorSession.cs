using System.Net;
using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Health;

namespace D8.Worker.Loop;

/// <summary>
/// The worker's registration with the orchestrator: registers with backoff, holds the <see cref="WorkerClient"/> of the
/// current registration, and registers again when a call shows that registration is gone (<see cref="Lost"/>).
/// </summary>
public sealed partial class OrchestratorSession(
    OrchestratorClient client, WorkerOptions options, WorkerHealth health, TimeProvider time, ILogger<OrchestratorSession> log)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private WorkerClient? _worker;

    /// <summary>The current registration's client. A caller keeps the one it called with and, when the call shows the
    /// registration is gone, passes it to <see cref="ReRegisterAsync"/>.</summary>
    public WorkerClient Worker => Volatile.Read(ref _worker) ?? throw new InvalidOperationException("Register the worker first.");

    /// <summary>
    /// Whether a refused call means this registration is gone, so the worker must register again — the one place the
    /// worker decides it. The orchestrator answers 401 to a worker token it does not know: its database was replaced
    /// (a fresh orchestrator), the worker was forgotten after being offline (D8_WORKER_FORGET_HOURS), it deregistered,
    /// or an operator revoked it. The id and token are then dead for good and only the join token gets the worker back
    /// in, with a new id and token (a revoked worker may rejoin, docs/security.md; a rotated join token keeps it out,
    /// and its registration is refused with backoff instead, <see cref="JoinRefused"/>). A 404 on a call about the worker
    /// itself (heartbeat, lease) says the same: the record went between the token check and the call. A 404 on a task
    /// report names the task or lease instead, and 403 means the token is good but not for that worker or lease:
    /// registering again cures neither. Each registration is given up at most once (<see cref="ReRegisterAsync"/>), so
    /// a refusal that outlives it cannot make the worker register in a loop.
    /// </summary>
    public static bool Lost(OrchestratorException refusal, WorkerCall call) => refusal.Status switch
    {
        HttpStatusCode.Unauthorized => true,
        HttpStatusCode.NotFound => call == WorkerCall.Self,
        _ => false,
    };

    /// <summary>The join token was refused at registration: retrying is right (the operator may fix D8_JOIN_TOKEN), registering anew is not.</summary>
    private static bool JoinRefused(OrchestratorException refusal) =>
        refusal.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;

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
                Volatile.Write(ref _worker, client.AsWorker(response));
                health.SetOrchestratorReachable(true);
                LogRegistered(response.WorkerId, options.WorkerName, options.ProviderName, string.Join(",", options.Models), HeartbeatInterval.TotalSeconds);
                return;
            }
            catch (OrchestratorException e) when (JoinRefused(e))
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

    /// <summary>Registers again, unless another caller already did since <paramref name="lost"/> was refused (every
    /// slot and the heartbeat see the same refusal; one registration replaces it).</summary>
    public async Task ReRegisterAsync(WorkerClient lost, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(Volatile.Read(ref _worker), lost)) return;
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

/// <summary>What a refused worker call was about, for <see cref="OrchestratorSession.Lost"/>.</summary>
public enum WorkerCall
{
    /// <summary>The worker itself: heartbeat, lease (the path is <c>api/workers/{id}/…</c>).</summary>
    Self,
    /// <summary>A task it reports on: complete, fail (the path is <c>api/tasks/{id}/…</c>).</summary>
    TaskReport,
}
