using System.Security.Cryptography.X509Certificates;
using D8.Contracts.Trust;
using D8.Emulators.OpenAi;
using D8.Orchestrator.Tls;
using D8.Worker.Hosting;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>
/// With a certificate of your own (D8_TLS_CERT_FILE) the join token pins the server certificate's key, not the chain's
/// root: a second certificate signed by the same (public) CA does not pass for the orchestrator.
/// </summary>
public sealed class OwnCertificatePinTests(ITestOutputHelper output) : IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly X509Certificate2 _root = CertificateFactory.CreateCa("public-ca", Now.AddDays(-1), Now.AddYears(1));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "d8-tests", "own-cert-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public void The_pin_of_a_certificate_of_your_own_is_the_server_keys_spki()
    {
        using var leaf = CertificateFactory.CreateServer(_root, ["127.0.0.1"], Now.AddDays(-1), Now.AddDays(30));
        var (cert, key) = TlsFleet.WritePem(_dir, leaf, _root);
        var certificates = OrchestratorCertificates.Load(new TlsOptions
        {
            Enabled = true, Explicit = true, Directory = _dir, SubjectNames = [], CertificateFile = cert, KeyFile = key,
            ServerCertificateLifetime = TimeSpan.FromDays(30),
        }, TimeProvider.System);

        Assert.Equal(PinnedTrust.SpkiFingerprint(leaf), certificates.Pin);
        Assert.NotEqual(PinnedTrust.Fingerprint(_root), certificates.Pin);
        Assert.Equal(leaf.RawData, certificates.Pinned.RawData);
        Assert.False(certificates.Pinned.HasPrivateKey);
    }

    [Fact]
    public async Task A_worker_joins_its_orchestrator_and_an_impostor_with_a_leaf_from_the_same_ca_gets_no_credential()
    {
        using var real = CertificateFactory.CreateServer(_root, ["127.0.0.1"], Now.AddDays(-1), Now.AddDays(30));
        using var foreign = CertificateFactory.CreateServer(_root, ["127.0.0.1"], Now.AddDays(-1), Now.AddDays(30));
        var (cert, key) = TlsFleet.WritePem(_dir, real, _root);
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-own-cert", ApiKey = TlsFleet.EmulatorKey, TokensPerAnswer = 4 });
        await using var fleet = await TlsFleet.StartAsync(output, new Dictionary<string, string?> { ["D8_TLS_CERT_FILE"] = cert, ["D8_TLS_KEY_FILE"] = key });
        var token = fleet.JoinTokenFromFile;
        Assert.Equal(PinnedTrust.SpkiFingerprint(real), fleet.Pin);

        await fleet.StartWorker("own-cert", groq.BaseUrl + "/openai/v1", token).WaitForOutputAsync("Registered as worker", TlsFleet.Timeout);

        // The impostor presents a leaf the same CA signed and serves the real certificate at /tls/ca.pem.
        await using var impostor = await ImpostorServer.StartAsync(foreign, real);
        var worker = fleet.StartWorker("to-impostor", groq.BaseUrl + "/openai/v1", token, impostor.Url);
        Assert.Equal(OrchestratorTrustGuard.TrustExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("(Foreign)", worker.Output, StringComparison.Ordinal);
        Assert.NotEmpty(impostor.Seen);
        Assert.All(impostor.Seen, line => Assert.Equal("GET /tls/ca.pem auth=False", line));
    }

    public void Dispose()
    {
        _root.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
