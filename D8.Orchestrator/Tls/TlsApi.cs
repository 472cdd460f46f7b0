using D8.Contracts.Trust;
using D8.Orchestrator.Http;

namespace D8.Orchestrator.Tls;

/// <summary>GET /tls/ca.pem (anonymous): the certificate a join token pins (the self-made CA, or your own server certificate). Public by nature; a client trusts it only if it matches its pin.</summary>
public static class TlsApi
{
    public static WebApplication MapTlsApi(this WebApplication app)
    {
        app.MapGet("/" + PinnedTrust.CaPath, (TlsState state) => state.Certificates is { } certs
                ? Results.Text(CertificateFactory.CertificatePem(certs.Pinned), "application/x-pem-file")
                : Problems.Result(StatusCodes.Status404NotFound, "Not Found", "TLS is off on this orchestrator (plain HTTP): there is no CA to pin."))
            .AllowAnonymous()
            .WithName("GetCaCertificate")
            .WithSummary("The orchestrator's CA certificate (PEM), whose SHA-256 a pinned join token carries.");
        return app;
    }
}
