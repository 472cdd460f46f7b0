using D8.Contracts.Trust;
using D8.Worker.Configuration;

namespace D8.Worker.Hosting;

/// <summary>
/// Outermost handler of the orchestrator client. A refused certificate (wrong pin, foreign, expired) or an orchestrator
/// that does not speak TLS is not something a retry fixes: it is logged once as one line saying what to check, and the
/// worker stops with exit code 3 (compose's restart policy then shows the same line at each start, never a silent loop).
/// A credential refused over plain HTTP, or an <c>http://</c> URL whose port speaks TLS, stops it the same way with
/// exit code 4 (<see cref="PlainHttp.ExitCode"/>).
/// </summary>
public sealed partial class OrchestratorTrustGuard(
    WorkerOptions options, IHostApplicationLifetime lifetime, ILogger<OrchestratorTrustGuard> log) : DelegatingHandler
{
    /// <summary>Exit code of a worker that refused its orchestrator's certificate.</summary>
    public const int TrustExitCode = 3;

    private int _refused;
    private int _warned;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0 && PlainHttp.CrossesNetwork(options.OrchestratorUrl))
        {
            LogPlainHttp(options.OrchestratorUrl);
        }
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (PlainHttpRefusedException e)
        {
            Stop(options.OrchestratorUrl, e.SpeaksTls ? TrustFailure.NotTls : TrustFailure.PlainHttp, e.Message, PlainHttp.ExitCode);
            throw;
        }
        catch (HttpRequestException e) when (PinnedTrust.Explain(e, options.OrchestratorUrl) is { } trust)
        {
            Stop(options.OrchestratorUrl, trust.Failure, trust.Message, TrustExitCode);
            throw new HttpRequestException(HttpRequestError.SecureConnectionError, trust.Message, trust);
        }
    }

    private void Stop(Uri url, TrustFailure failure, string reason, int exitCode)
    {
        if (Interlocked.Exchange(ref _refused, 1) != 0) return;
        LogRefused(url, failure, reason);
        Environment.ExitCode = exitCode;
        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing the orchestrator at {Url} ({Failure}): {Reason}. Stopping.")]
    private partial void LogRefused(Uri url, TrustFailure failure, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "D8_ORCHESTRATOR_URL {Url} is plain HTTP on the network and D8_ALLOW_PLAINTEXT=true: the join token, this worker's token and every prompt can be read by anyone on it. Use https:// and the pinned join token the orchestrator writes")]
    private partial void LogPlainHttp(Uri url);
}
