using D8.Contracts.Trust;
using D8.Orchestrator.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace D8.Orchestrator.Tls;

/// <summary>What the orchestrator decided about TLS at start-up (for the start-up log and the join-token file).</summary>
public sealed record TlsState(TlsOptions Options, OrchestratorCertificates? Certificates, string? JoinTokenPath);

/// <summary>Serves HTTPS on every Kestrel endpoint when TLS is on, and writes the pinned join token for the operator.</summary>
public static partial class TlsHosting
{
    /// <summary>With the validated D8_TLS* settings: makes or loads the certificates and configures Kestrel; adds start-up warnings.</summary>
    public static TlsState AddOrchestratorTls(this WebApplicationBuilder builder, TlsOptions tls, OrchestratorOptions options, ICollection<string> warnings)
    {
        JoinToken.TryParse(options.JoinToken, out var configured, out _);
        if (!tls.Enabled)
        {
            if (!TlsOptions.ListensOnLoopbackOnly(builder.Configuration))
            {
                warnings.Add("D8_TLS=false: serving plain HTTP on a network address. The join token, worker tokens, API keys " +
                             "and every prompt and answer cross the network readable by anyone on it; remove D8_TLS=false.");
            }
            var state = new TlsState(tls, null, null);
            builder.Services.AddSingleton(state);
            return state;
        }

        var certificates = OrchestratorCertificates.Load(tls, TimeProvider.System);
        var secret = configured?.Secret ?? options.JoinToken;
        var tokenPath = secret.Length > 0 ? certificates.WriteJoinToken(tls, secret) : null;
        foreach (var loose in certificates.LooseFiles(tls)) warnings.Add(loose);
        if (configured is { IsPinned: true } && configured.Pin != certificates.Pin)
        {
            warnings.Add($"D8_JOIN_TOKEN pins CA sha256:{JoinToken.Short(configured.Pin)} but this orchestrator's CA is " +
                         $"sha256:{JoinToken.Short(certificates.Pin)} (replaced?): workers holding that token will refuse it. " +
                         $"The current token is in {tokenPath}.");
        }
        builder.Services.Configure<KestrelServerOptions>(k => k.ConfigureEndpointDefaults(listen =>
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificates.Server,
                // Sent after the server certificate, so a worker finds the CA its join token pins.
                ServerCertificateChain = certificates.Chain,
            })));
        var tlsState = new TlsState(tls, certificates, tokenPath);
        builder.Services.AddSingleton(tlsState);
        builder.Services.AddHostedService<TlsStartupLog>();
        return tlsState;
    }

    /// <summary>One line at start-up: HTTPS, the pin, where the join token is (never the secret itself).</summary>
    private sealed partial class TlsStartupLog(TlsState state, ILogger<TlsStartupLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var certs = state.Certificates!;
            LogHttps(state.Options.CertificateFile is null ? "its own CA" : state.Options.CertificateFile,
                state.Options.CertificateFile is null ? "CA" : "server key (SPKI)", certs.Pin,
                certs.Server.NotAfter.ToUniversalTime(), state.JoinTokenPath ?? "(no join token)", certs.Note ?? "certificates reused");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Serving HTTPS with a certificate from {Source}; pin ({Pinned}) sha256:{Pin}; " +
            "server certificate valid until {NotAfter:u}; the join token for workers is in {TokenFile} (or run: D8.Orchestrator join-token); {Note}")]
        private partial void LogHttps(string source, string pinned, string pin, DateTime notAfter, string tokenFile, string note);
    }
}
