using System.Security.Cryptography.X509Certificates;
using D8.Contracts;
using D8.Contracts.Trust;
using D8.Orchestrator.Tls;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>
/// An orchestrator process serving HTTPS on a loopback port (its own CA, or given PEM files) and workers joining it:
/// <see cref="ProcessFleet"/> with TLS on, a client that trusts the orchestrator through its pin, and groq workers.
/// </summary>
public sealed class TlsFleet : ProcessFleet
{
    private HttpClient? _http;

    private TlsFleet(ITestOutputHelper log, IDictionary<string, string?>? settings) : base(log, "tls", settings)
    {
        TlsDir = Path.Combine(Path.GetDirectoryName(DbPath)!, "tls-" + Guid.NewGuid().ToString("N")[..8]);
        OrchestratorEnv["D8_TLS"] = "true";
        OrchestratorEnv["D8_TLS_DIR"] = TlsDir;
        OrchestratorEnv["Logging__LogLevel__D8"] = "Information";
        ApplySettings();
    }

    public string TlsDir { get; }

    /// <summary>The join secret (the part of a pinned join token after the pin).</summary>
    public string Secret => JoinToken;

    public Uri HttpsUrl => new($"https://127.0.0.1:{Port}/");

    /// <summary>The join token the orchestrator wrote (pin + secret).</summary>
    public string JoinTokenFromFile => File.ReadAllText(Path.Combine(TlsDir, OrchestratorCertificates.JoinTokenFile)).Trim();

    public string Pin => D8.Contracts.Trust.JoinToken.TryParse(JoinTokenFromFile, out var t, out _) ? t.Pin! : throw new InvalidOperationException("no pin");

    /// <summary>A client that trusts this orchestrator through its pin (the way workers do).</summary>
    public override OrchestratorClient Client => new(_http ??= new HttpClient(new PinnedTrust(Pin, TimeProvider.System).CreateHandler())
    {
        BaseAddress = HttpsUrl, Timeout = TimeSpan.FromSeconds(90),
    }) { ApiKey = ApiKey };

    public static async Task<TlsFleet> StartAsync(ITestOutputHelper log, IDictionary<string, string?>? settings = null)
    {
        var fleet = new TlsFleet(log, settings);
        await fleet.StartOrchestratorAsync();
        return fleet;
    }

    /// <summary>(Re)starts the orchestrator on the same port, database and TLS folder.</summary>
    public async Task StartOrchestratorAsync()
    {
        _http?.Dispose();
        _http = null;
        var orchestrator = await StartOrchestratorProcessAsync();
        await orchestrator.WaitForOutputAsync("Application started", Timeout);
    }

    public async Task StopOrchestratorAsync()
    {
        await Orchestrator!.StopAsync(Timeout);
        await Orchestrator.DisposeAsync();
    }

    /// <summary>Starts a groq worker against <paramref name="url"/> with <paramref name="joinToken"/>.</summary>
    public ProcessHost StartWorker(string name, string providerUrl, string joinToken, Uri? url = null, IDictionary<string, string?>? env = null)
    {
        var settings = WorkerSettings(url ?? HttpsUrl, joinToken, name, "groq", providerUrl);
        settings["D8_SHUTDOWN_GRACE_SECONDS"] = "5";
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) settings[k] = v;
        return StartWorkerProcess(name, settings);
    }

    /// <summary>Waits until the fleet lists <paramref name="name"/> online.</summary>
    public new Task<WorkerView> WaitForWorkerAsync(string name, Func<WorkerView, bool>? condition = null) =>
        base.WaitForWorkerAsync(name, condition ?? (w => w.State == WorkerState.Online));

    /// <summary>Writes PEM files for a user-provided certificate: the server certificate then <paramref name="chain"/>, and its key.</summary>
    public static (string Cert, string Key) WritePem(string dir, X509Certificate2 server, params X509Certificate2[] chain)
    {
        Directory.CreateDirectory(dir);
        var cert = Path.Combine(dir, "user-" + Guid.NewGuid().ToString("N")[..6] + ".crt");
        var key = Path.ChangeExtension(cert, ".key");
        File.WriteAllText(cert, string.Join("\n", new[] { server }.Concat(chain).Select(CertificateFactory.CertificatePem)) + "\n");
        File.WriteAllText(key, CertificateFactory.KeyPem(server));
        return (cert, key);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _http?.Dispose();
        try { Directory.Delete(TlsDir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
