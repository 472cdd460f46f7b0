using System.Net;
using D8.Contracts.Trust;
using D8.Worker.Configuration;

namespace D8.Worker.Hosting;

/// <summary>
/// Outermost handler of the orchestrator client. A refused certificate (wrong pin, foreign, expired) or an orchestrator
/// that does not speak TLS is not something a retry fixes: it is logged once as one line saying what to check, and the
/// worker stops with exit code 3 (compose's restart policy then shows the same line at each start, never a silent loop).
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
        if (Interlocked.Exchange(ref _warned, 1) == 0 && options.OrchestratorUrl.Scheme == Uri.UriSchemeHttp && !IsLoopback(options.OrchestratorUrl))
        {
            LogPlainHttp(options.OrchestratorUrl);
        }
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (PinnedTrust.Explain(e, options.OrchestratorUrl) is { } trust)
        {
            if (Interlocked.Exchange(ref _refused, 1) == 0)
            {
                LogRefused(options.OrchestratorUrl, trust.Failure, trust.Message);
                Environment.ExitCode = TrustExitCode;
                lifetime.StopApplication();
            }
            throw new HttpRequestException(HttpRequestError.SecureConnectionError, trust.Message, trust);
        }
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing the orchestrator at {Url} ({Failure}): {Reason}. Stopping.")]
    private partial void LogRefused(Uri url, TrustFailure failure, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "D8_ORCHESTRATOR_URL {Url} is plain HTTP on the network: the join token, this worker's token and every prompt can be read by anyone on it. Use https:// and the pinned join token the orchestrator writes")]
    private partial void LogPlainHttp(Uri url);
}
