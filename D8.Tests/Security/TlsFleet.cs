using System.Security.Cryptography.X509Certificates;
using D8.Contracts;
using D8.Contracts.Trust;
using D8.Orchestrator.Tls;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>An orchestrator process serving HTTPS on a loopback port (its own CA, or given PEM files) and workers joining it.</summary>
public sealed class TlsFleet : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly ITestOutputHelper _log;
    private readonly Dictionary<string, string?> _env;
    private readonly List<ProcessHost> _workers = [];
    private HttpClient? _http;

    private TlsFleet(ITestOutputHelper log, IDictionary<string, string?>? settings)
    {
        _log = log;
        Port = FreePort.Next();
        DbPath = TempDatabase.NewPath("tls");
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        TlsDir = Path.Combine(Path.GetDirectoryName(DbPath)!, "tls-" + Guid.NewGuid().ToString("N")[..8]);
        Secret = "join-" + Guid.NewGuid().ToString("N");
        ApiKey = "key-" + Guid.NewGuid().ToString("N");
        _env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port}",
            ["D8_TLS"] = "true",
            ["D8_TLS_DIR"] = TlsDir,
            ["D8_DB_PATH"] = DbPath,
            ["D8_JOIN_TOKEN"] = Secret,
            ["D8_API_KEYS"] = ApiKey,
            ["D8_HEARTBEAT_SECONDS"] = "1",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__D8"] = "Information",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) _env[k] = v;
    }

    public int Port { get; }
    public string DbPath { get; }
    public string TlsDir { get; }
    public string Secret { get; }
    public string ApiKey { get; }
    public Uri HttpsUrl => new($"https://127.0.0.1:{Port}/");
    public ProcessHost? Orchestrator { get; private set; }

    /// <summary>The join token the orchestrator wrote (pin + secret).</summary>
    public string JoinTokenFromFile => File.ReadAllText(Path.Combine(TlsDir, OrchestratorCertificates.JoinTokenFile)).Trim();

    public string Pin => JoinToken.TryParse(JoinTokenFromFile, out var t, out _) ? t.Pin! : throw new InvalidOperationException("no pin");

    /// <summary>A client that trusts this orchestrator through its pin (the way workers do).</summary>
    public OrchestratorClient Client => new(_http ??= new HttpClient(new PinnedTrust(Pin, TimeProvider.System).CreateHandler())
    {
        BaseAddress = HttpsUrl, Timeout = TimeSpan.FromSeconds(90),
    }) { ApiKey = ApiKey };

    public static async Task<TlsFleet> StartAsync(ITestOutputHelper log, IDictionary<string, string?>? settings = null, bool waitHealthy = true)
    {
        var fleet = new TlsFleet(log, settings);
        await fleet.StartOrchestratorAsync(waitHealthy);
        return fleet;
    }

    /// <summary>(Re)starts the orchestrator on the same port, database and TLS folder.</summary>
    public async Task StartOrchestratorAsync(bool waitHealthy = true)
    {
        _http?.Dispose();
        _http = null;
        Orchestrator = ProcessHost.Start("D8.Orchestrator", _env, log: _log, name: "orchestrator");
        if (waitHealthy) await Orchestrator.WaitForOutputAsync("Application started", Timeout);
    }

    public async Task StopOrchestratorAsync()
    {
        await Orchestrator!.StopAsync(Timeout);
        await Orchestrator.DisposeAsync();
    }

    /// <summary>Starts a groq worker against <paramref name="url"/> with <paramref name="joinToken"/>.</summary>
    public ProcessHost StartWorker(string name, string providerUrl, string joinToken, Uri? url = null, IDictionary<string, string?>? env = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["D8_ORCHESTRATOR_URL"] = (url ?? HttpsUrl).ToString(),
            ["D8_JOIN_TOKEN"] = joinToken,
            ["D8_WORKER_NAME"] = name,
            ["D8_PROVIDER"] = "groq",
            ["D8_PROVIDER_BASE_URL"] = providerUrl,
            ["D8_PROVIDER_API_KEY"] = EmulatorKey,
            ["D8_SHUTDOWN_GRACE_SECONDS"] = "5",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__D8"] = "Information",
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string?>()) settings[k] = v;
        var process = ProcessHost.Start("D8.Worker", settings, log: _log, name: name);
        _workers.Add(process);
        return process;
    }

    public const string EmulatorKey = "emulator-key";

    /// <summary>Waits until the fleet lists <paramref name="name"/> online.</summary>
    public async Task WaitForWorkerAsync(string name)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var workers = await Client.GetWorkersAsync();
            if (workers.Any(w => w.Name == name && w.State == WorkerState.Online)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"worker {name} never came online");
            await Task.Delay(100); // polling interval for a condition with a deadline
        }
    }

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

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers) await worker.DisposeAsync();
        if (Orchestrator is not null) await Orchestrator.DisposeAsync();
        _http?.Dispose();
        TempDatabase.Delete(DbPath);
        try { Directory.Delete(TlsDir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
