using System.Net;
using System.Net.NetworkInformation;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using D8.Contracts.Trust;

namespace D8.Orchestrator.Tls;

/// <summary>
/// The certificate the orchestrator serves and the CA a join token pins. Self-made by default: on first start a CA
/// (ca.crt, ca.key) and a server certificate it signs (server.crt, server.key) are written to the TLS folder, keys
/// with mode 0600. Later starts reuse them; the server certificate is renewed (same CA, so the pin does not change)
/// when a third of its lifetime is left or the host got a name or address it does not cover. Or a user-provided PEM
/// chain + key, where the pin is the server certificate's public key (SHA-256 of its SPKI): pinning the chain's root
/// would let anyone holding a certificate from the same public CA stand in for the orchestrator.
/// </summary>
public sealed class OrchestratorCertificates
{
    public const string CaCertFile = "ca.crt", CaKeyFile = "ca.key", ServerCertFile = "server.crt", ServerKeyFile = "server.key",
        JoinTokenFile = "join-token";

    private OrchestratorCertificates(X509Certificate2 server, X509Certificate2Collection chain, X509Certificate2 pinned, string pin, string? note)
    {
        Server = server;
        Chain = chain;
        Pinned = pinned;
        Pin = pin;
        Note = note;
    }

    /// <summary>The public certificate <c>GET /tls/ca.pem</c> serves: the self-made CA, or your own server certificate.</summary>
    public X509Certificate2 Pinned { get; }

    /// <summary>The server certificate with its private key.</summary>
    public X509Certificate2 Server { get; }

    /// <summary>Certificates sent after the server certificate (the CA, so a worker can check its pin).</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>What a join token carries: hex SHA-256 of the self-made CA's DER, or of your own server certificate's SPKI.</summary>
    public string Pin { get; }

    /// <summary>Secret files others than the owner may read (for start-up warnings).</summary>
    public IReadOnlyList<string> LooseFiles(TlsOptions options) =>
        new[] { CaKeyFile, ServerKeyFile, JoinTokenFile }.Select(f => Path.Combine(options.Directory, f))
            .Append(options.KeyFile ?? "").Where(f => f.Length > 0)
            .Select(Storage.PrivateFolder.LooseModeWarning).OfType<string>().ToList();

    /// <summary>What was created or renewed at this start, for the start-up log (null: reused as they were).</summary>
    public string? Note { get; }

    /// <summary>Loads the user's certificate, or loads (creating or renewing what is needed) the self-made one.</summary>
    public static OrchestratorCertificates Load(TlsOptions options, TimeProvider time)
    {
        if (options.CertificateFile is { } certFile && options.KeyFile is { } keyFile)
        {
            X509Certificate2 server;
            var all = new X509Certificate2Collection();
            try
            {
                server = X509Certificate2.CreateFromPemFile(certFile, keyFile);
                all.ImportFromPemFile(certFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw StartupFailure.Refusal($"cannot read the TLS certificate D8_TLS_CERT_FILE={certFile} with its key " +
                    $"D8_TLS_KEY_FILE={keyFile} ({e.Message.TrimEnd('.')}): point both to PEM files (certificate chain, private key) this orchestrator's user may read.", e);
            }
            var chain = new X509Certificate2Collection();
            foreach (var c in all.Skip(1)) chain.Add(c);
            var publicServer = X509CertificateLoader.LoadCertificate(server.RawData);
            return new OrchestratorCertificates(server, chain, publicServer, PinnedTrust.SpkiFingerprint(server), null);
        }
        return LoadSelfMade(options, time);
    }

    private static OrchestratorCertificates LoadSelfMade(TlsOptions options, TimeProvider time)
    {
        var dir = options.Directory;
        Storage.PrivateFolder.Create(dir);
        var now = time.GetUtcNow();
        var notes = new List<string>();

        var caCert = Path.Combine(dir, CaCertFile);
        var caKey = Path.Combine(dir, CaKeyFile);
        X509Certificate2 ca;
        if (File.Exists(caCert) && File.Exists(caKey))
        {
            ca = X509Certificate2.CreateFromPemFile(caCert, caKey);
        }
        else
        {
            ca = CertificateFactory.CreateCa($"D8 orchestrator CA {Guid.NewGuid().ToString("N")[..8]}", now.AddHours(-1), now.AddYears(10));
            CertificateFactory.WriteSecretFile(caKey, CertificateFactory.KeyPem(ca));
            CertificateFactory.WritePublicFile(caCert, CertificateFactory.CertificatePem(ca));
            notes.Add($"created a CA in {dir}");
        }

        var names = SubjectNames(options.SubjectNames);
        var serverCert = Path.Combine(dir, ServerCertFile);
        var serverKey = Path.Combine(dir, ServerKeyFile);
        X509Certificate2? server = null;
        if (File.Exists(serverCert) && File.Exists(serverKey))
        {
            server = X509Certificate2.CreateFromPemFile(serverCert, serverKey);
            if (RenewalReason(server, ca, names, options.ServerCertificateLifetime, now) is { } reason)
            {
                notes.Add($"renewed the server certificate ({reason})");
                server = null;
            }
        }
        else
        {
            notes.Add("created a server certificate");
        }
        if (server is null)
        {
            server = CertificateFactory.CreateServer(ca, names, now.AddHours(-1), now + options.ServerCertificateLifetime);
            CertificateFactory.WriteSecretFile(serverKey, CertificateFactory.KeyPem(server));
            CertificateFactory.WritePublicFile(serverCert, CertificateFactory.CertificatePem(server));
        }
        // The CA's private key stays on disk only; the chain sent to clients is the public certificate.
        var publicCa = X509CertificateLoader.LoadCertificate(ca.RawData);
        return new OrchestratorCertificates(server, [publicCa], publicCa, PinnedTrust.Fingerprint(publicCa),
            notes.Count > 0 ? string.Join("; ", notes) : null);
    }

    /// <summary>Writes the full join token (pin + secret) to the TLS folder, readable by the owner only; returns its path.</summary>
    public string WriteJoinToken(TlsOptions options, string secret)
    {
        Storage.PrivateFolder.Create(options.Directory);
        var path = Path.Combine(options.Directory, JoinTokenFile);
        CertificateFactory.WriteSecretFile(path, JoinToken.Format(Pin, secret) + "\n");
        return path;
    }

    private static string? RenewalReason(X509Certificate2 server, X509Certificate2 ca, IReadOnlyList<string> names, TimeSpan lifetime, DateTimeOffset now)
    {
        if (!server.IssuerName.RawData.AsSpan().SequenceEqual(ca.SubjectName.RawData)) return "not signed by the current CA";
        var left = server.NotAfter.ToUniversalTime() - now.UtcDateTime;
        if (left < lifetime / 3) return $"expires {server.NotAfter.ToUniversalTime():u}";
        var covered = CoveredNames(server);
        var missing = names.Where(n => !covered.Contains(n)).ToList();
        return missing.Count > 0 ? "new names: " + string.Join(", ", missing) : null;
    }

    private static HashSet<string> CoveredNames(X509Certificate2 certificate)
    {
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var ext in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (var dns in ext.EnumerateDnsNames()) set.Add(dns);
            foreach (var ip in ext.EnumerateIPAddresses()) set.Add(ip.ToString());
        }
        return set;
    }

    /// <summary>Configured names, plus this host's names and unicast addresses, plus loopback and the compose service name.</summary>
    private static List<string> SubjectNames(IReadOnlyList<string> configured)
    {
        var names = new List<string>(configured) { "localhost", "orchestrator", "127.0.0.1", "::1" };
        try
        {
            names.Add(Dns.GetHostName());
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces().Where(n => n.OperationalStatus == OperationalStatus.Up))
            {
                foreach (var address in nic.GetIPProperties().UnicastAddresses)
                {
                    if (address.Address.IsIPv6LinkLocal) continue;
                    names.Add(new IPAddress(address.Address.GetAddressBytes()).ToString());
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Names from configuration and loopback still make a usable certificate; workers check the pin, not the name.
        }
        return names.Where(n => n.Length > 0).Select(n => n.ToLowerInvariant()).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }
}
