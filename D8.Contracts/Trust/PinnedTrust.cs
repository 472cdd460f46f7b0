using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace D8.Contracts.Trust;

/// <summary>
/// Verifies an orchestrator's TLS certificate against the pin of a join token, before any request (and so any secret)
/// is sent. The pin is either the SHA-256 of the orchestrator's own CA certificate (self-made TLS: the server
/// certificate must be signed by that CA) or the SHA-256 of the server certificate's public key, its SPKI (a
/// certificate of your own, D8_TLS_CERT_FILE: the server must hold that very key, so another certificate from the same
/// public CA does not pass). Certificates must be valid now. The host name is not checked: the pinned CA signs only
/// this orchestrator's certificate, a pinned key belongs to this orchestrator only, and a home network's addresses change.
/// </summary>
public sealed class PinnedTrust(string pin, TimeProvider time)
{
    public string Pin { get; } = pin.ToLowerInvariant();

    /// <summary>Path of the orchestrator's CA certificate (PEM, anonymous: it is public), fetched once to check the pin.</summary>
    public const string CaPath = "tls/ca.pem";

    /// <summary>Most bytes read from <see cref="CaPath"/>: a certificate is a few KB; a man in the middle cannot make a worker read forever.</summary>
    public const int MaxCaBytes = 64 * 1024;

    // Set by EnsureCaAsync, read by the TLS callback on another thread.
    private volatile X509Certificate2? _ca;

    /// <summary>
    /// A handler for HttpClient / IHttpClientFactory: before the first request it fetches the orchestrator's CA
    /// (<see cref="CaPath"/>) and compares its fingerprint with the pin; every TLS handshake then requires a server
    /// certificate signed by that CA. A TLS server does not send its root, hence the fetch (as k3s's /cacerts).
    /// </summary>
    public HttpMessageHandler CreateHandler()
    {
        var sockets = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        Apply(sockets.SslOptions);
        return new CaFetchingHandler(this) { InnerHandler = sockets };
    }

    /// <summary>Puts the pin check into TLS client options (the CA must have been fetched: <see cref="EnsureCaAsync"/>).</summary>
    public void Apply(SslClientAuthenticationOptions options) =>
        options.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            // Throwing (rather than returning false) carries the reason out through HttpRequestException.InnerException.
            var failure = Check(certificate as X509Certificate2 ?? (certificate is null ? null : new X509Certificate2(certificate)));
            return failure is null ? true : throw failure;
        };

    /// <summary>Fetches the orchestrator's CA (certificate not checked: its fingerprint is) unless already known.</summary>
    public async Task EnsureCaAsync(Uri orchestrator, bool refresh, CancellationToken ct)
    {
        if (_ca is not null && !refresh) return;
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30), MaxResponseContentBufferSize = MaxCaBytes };
        var url = new Uri(new Uri(orchestrator.GetLeftPart(UriPartial.Authority) + "/"), CaPath);
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new TrustFailureException(TrustFailure.NotTls,
                $"{url} answered {(int)response.StatusCode}: this orchestrator does not serve its own CA (an old version, or not a D8 orchestrator)");
        }
        var pem = await ReadCappedAsync(response.Content, url, ct).ConfigureAwait(false);
        X509Certificate2 ca;
        try
        {
            ca = X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException)
        {
            throw new TrustFailureException(TrustFailure.Foreign, $"{url} is not a PEM certificate: not a D8 orchestrator");
        }
        var fingerprint = Fingerprint(ca);
        if (fingerprint != Pin && SpkiFingerprint(ca) != Pin)
        {
            throw new TrustFailureException(TrustFailure.WrongPin,
                $"the orchestrator's CA is sha256:{JoinToken.Short(fingerprint)} but the join token pins sha256:{JoinToken.Short(Pin)}: " +
                "the token belongs to another orchestrator or its CA was replaced; get the current token on the orchestrator host " +
                "(D8.Orchestrator join-token)");
        }
        _ca = ca;
    }

    /// <summary>Null when the certificate is signed by the pinned CA and valid now; else the reason, as an exception to throw.</summary>
    public TrustFailureException? Check(X509Certificate2? leaf)
    {
        if (leaf is null)
        {
            return new TrustFailureException(TrustFailure.Foreign, "the orchestrator presented no certificate");
        }
        if (_ca is not { } ca)
        {
            return new TrustFailureException(TrustFailure.Foreign, "the orchestrator's CA was not fetched before the handshake");
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        // Only the certificates at hand: no AIA fetches to URLs a presented certificate names.
        chain.ChainPolicy.DisableCertificateDownloads = true;
        var pinnedKey = SpkiFingerprint(leaf) == Pin;
        if (!pinnedKey && Fingerprint(leaf) != Pin && (!chain.Build(leaf) || Fingerprint(chain.ChainElements[^1].Certificate) != Pin))
        {
            return new TrustFailureException(TrustFailure.Foreign,
                $"the orchestrator's certificate ({leaf.Subject}) is not signed by the CA the join token pins (sha256:{JoinToken.Short(Pin)}): " +
                "something else answers at this address (a man in the middle?), or the orchestrator uses a certificate of its own; check the URL");
        }
        var now = time.GetUtcNow();
        foreach (var c in pinnedKey ? [leaf] : new[] { leaf, ca })
        {
            if (now < c.NotBefore.ToUniversalTime() || now > c.NotAfter.ToUniversalTime())
            {
                return new TrustFailureException(TrustFailure.Expired,
                    $"the orchestrator's certificate ({c.Subject}) is valid only from {c.NotBefore.ToUniversalTime():u} to " +
                    $"{c.NotAfter.ToUniversalTime():u} and it is {now.UtcDateTime:u} here: restart the orchestrator to renew it, or fix this machine's clock");
            }
        }
        return null;
    }

    /// <summary>Fetches the CA before the first request; after a refusal fetches it again once, so a replaced CA reads as a wrong pin.</summary>
    private sealed class CaFetchingHandler(PinnedTrust trust) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var url = request.RequestUri!;
            try
            {
                await trust.EnsureCaAsync(url, refresh: false, ct).ConfigureAwait(false);
                return await base.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch (TrustFailureException e)
            {
                throw new HttpRequestException(HttpRequestError.SecureConnectionError, e.Message, e);
            }
            catch (HttpRequestException e) when (Explain(e, url) is { Failure: TrustFailure.Foreign })
            {
                try
                {
                    await trust.EnsureCaAsync(url, refresh: true, ct).ConfigureAwait(false);
                }
                catch (TrustFailureException refreshed)
                {
                    throw new HttpRequestException(HttpRequestError.SecureConnectionError, refreshed.Message, refreshed);
                }
                throw;
            }
        }
    }

    /// <summary>Lower-case hex SHA-256 of a certificate's DER encoding: the pin a join token carries for a self-made CA.</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));

    /// <summary>Lower-case hex SHA-256 of a certificate's SubjectPublicKeyInfo: the pin for a certificate of your own (survives renewal with the same key).</summary>
    public static string SpkiFingerprint(X509Certificate2 certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));

    private static async Task<string> ReadCappedAsync(HttpContent content, Uri url, CancellationToken ct)
    {
        if (content.Headers.ContentLength > MaxCaBytes) throw TooLarge(url);
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[MaxCaBytes + 1];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct).ConfigureAwait(false);
            if (n == 0) return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
            read += n;
        }
        throw TooLarge(url);
    }

    private static TrustFailureException TooLarge(Uri url) =>
        new(TrustFailure.Foreign, $"{url} is larger than {MaxCaBytes / 1024} KB: not a D8 orchestrator's CA certificate");

    /// <summary>
    /// The trust failure behind an HTTP error, if that is what it was: a pin check that refused, or a TLS handshake
    /// that could not happen (the orchestrator answers plain HTTP on an https:// URL).
    /// </summary>
    public static TrustFailureException? Explain(Exception error, Uri orchestrator)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is TrustFailureException trust) return trust;
        }
        if (orchestrator.Scheme == Uri.UriSchemeHttps && error is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }
            && FindInner<AuthenticationException>(error) is { } auth && !IsCallbackRefusal(auth))
        {
            if (auth.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase))
            {
                return new TrustFailureException(TrustFailure.Foreign,
                    $"the certificate of {orchestrator.Authority} is not trusted by this system ({auth.Message.TrimEnd('.')}): " +
                    "join with the pinned token the orchestrator writes (D8J1-…), which trusts its own CA");
            }
            return new TrustFailureException(TrustFailure.NotTls,
                $"no TLS handshake with {orchestrator.Authority} ({auth.Message.TrimEnd('.')}): the orchestrator serves plain HTTP there? " +
                "Start it with TLS (the default unless D8_TLS=false) or check the port");
        }
        return null;
    }

    private static bool IsCallbackRefusal(AuthenticationException e) =>
        e.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal);

    private static T? FindInner<T>(Exception error) where T : Exception
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is T t) return t;
        }
        return null;
    }
}
