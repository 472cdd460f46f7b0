using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace D8.Contracts.Trust;

/// <summary>
/// The one rule for credentials over plain HTTP, shared by the worker and <c>d8</c>: a secret (join secret, worker
/// token, API key) is never sent over <c>http://</c> to an address that is not loopback unless
/// <see cref="AllowVariable"/> says so. Loopback stays allowed (development, the AppHost, a compose health probe).
/// </summary>
public static class PlainHttp
{
    /// <summary>The opt-in: <c>D8_ALLOW_PLAINTEXT=true</c> sends credentials over plain HTTP to a network address anyway (warned about).</summary>
    public const string AllowVariable = "D8_ALLOW_PLAINTEXT";

    /// <summary>Exit code of a worker or <c>d8</c> that refused to send a credential in clear.</summary>
    public const int ExitCode = 4;

    /// <summary>True when <paramref name="url"/> is plain HTTP to something other than loopback (a secret would cross a network in clear).</summary>
    public static bool CrossesNetwork(Uri url) => url.Scheme == Uri.UriSchemeHttp && !IsLoopback(url);

    /// <summary>Null when a credential may go to <paramref name="url"/>; else the one-line refusal naming the fix.</summary>
    public static string? Refusal(Uri url, bool allowed) => !CrossesNetwork(url) || allowed ? null
        : $"{url.GetLeftPart(UriPartial.Authority)} is plain HTTP to a network address: the credential would cross it in clear, so nothing was sent. " +
          $"Use https:// and the pinned join token (D8J1-…, D8.Orchestrator join-token on the orchestrator host), or set {AllowVariable}=true to send it in clear anyway";

    /// <summary>The line for an <c>http://</c> URL whose port answered a TLS handshake.</summary>
    public static string SpeaksTls(Uri url) =>
        $"this orchestrator speaks HTTPS at {url.Authority}: use https://{url.Authority}/ and the pinned join token (D8J1-…, D8.Orchestrator join-token on the orchestrator host)";

    /// <summary>True for <c>localhost</c> and loopback addresses (127.0.0.0/8, ::1).</summary>
    public static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Reads the opt-in value: true / 1 / yes.</summary>
    public static bool IsAllowed(string? value) =>
        value?.Trim().ToLowerInvariant() is "true" or "1" or "yes";

    /// <summary>
    /// True when the host and port of <paramref name="url"/> complete a TLS handshake (any certificate: nothing is
    /// sent but the ClientHello). Used after an <c>http://</c> request failed, to name the cause.
    /// </summary>
    public static async Task<bool> SpeaksTlsAsync(Uri url, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(url.IdnHost, url.Port, timeout.Token).ConfigureAwait(false);
            await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = url.IdnHost,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// A handler that enforces the rule on every request carrying a credential (<c>Authorization</c> or
    /// <c>X-Api-Key</c>), and after a failed <c>http://</c> request names a port that speaks TLS. Both surface as
    /// <see cref="PlainHttpRefusedException"/>.
    /// </summary>
    public sealed class Guard(bool allowed) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var url = request.RequestUri!;
            if ((request.Headers.Authorization is not null || request.Headers.Contains("X-Api-Key")) && Refusal(url, allowed) is { } refusal)
            {
                throw new PlainHttpRefusedException(refusal, speaksTls: false);
            }
            try
            {
                return await base.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException e) when (url.Scheme == Uri.UriSchemeHttp && e is not PlainHttpRefusedException && !ct.IsCancellationRequested)
            {
                if (await SpeaksTlsAsync(url, ct).ConfigureAwait(false)) throw new PlainHttpRefusedException(SpeaksTls(url), speaksTls: true, e);
                throw;
            }
        }
    }
}

/// <summary>A credential was not sent in clear (<see cref="SpeaksTls"/>: or the http:// URL's port speaks TLS); the message is one line naming the fix.</summary>
public sealed class PlainHttpRefusedException(string message, bool speaksTls, Exception? inner = null)
    : HttpRequestException(HttpRequestError.Unknown, message, inner)
{
    public bool SpeaksTls { get; } = speaksTls;
}
