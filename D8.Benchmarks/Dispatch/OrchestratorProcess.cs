using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Dispatch;

/// <summary>
/// The real orchestrator (its built dll, through the shared <see cref="ProcessHost"/>) on a loopback port it picks itself, with a
/// temp SQLite file, plus what the benchmarks read about it: RSS and CPU time.
/// </summary>
internal sealed class OrchestratorProcess : IAsyncDisposable
{
    private readonly ProcessHost _host;
    private readonly string _db;
    private readonly bool _ownsDb;

    private OrchestratorProcess(ProcessHost host, string db, bool ownsDb, Uri baseUrl, Uri? http2Url, string apiKey, string joinToken)
    {
        _host = host;
        _db = db;
        _ownsDb = ownsDb;
        BaseUrl = baseUrl;
        Http2Url = http2Url;
        ApiKey = apiKey;
        JoinToken = joinToken;
    }

    public Uri BaseUrl { get; }

    /// <summary>A second loopback endpoint speaking HTTP/2 without TLS (prior knowledge), when asked for.</summary>
    public Uri? Http2Url { get; }
    public string ApiKey { get; }
    public string JoinToken { get; }
    public int Pid => _host.Pid;

    /// <summary>The SQLite file it uses.</summary>
    public string DbPath => _db;

    /// <summary>
    /// Starts the orchestrator (build configuration of the benchmark itself) and waits until /health answers. With
    /// <paramref name="db"/> it uses (and keeps) that file, with the given credentials; otherwise a fresh temp file
    /// deleted on dispose. With <paramref name="http2"/> it also listens on a second port for HTTP/2 with prior knowledge
    /// (many long-polls multiplexed over a few sockets).
    /// </summary>
    public static async Task<OrchestratorProcess> StartAsync(string? db = null, string? apiKey = null, string? joinToken = null,
        IReadOnlyDictionary<string, string?>? settings = null, bool http2 = false)
    {
        var ownsDb = db is null;
        db ??= TempDatabase.NewPath("dispatch", "d8-bench");
        apiKey ??= "bench-key-" + Guid.NewGuid().ToString("N");
        var join = joinToken ?? "bench-join-" + Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_DB_PATH"] = db,
            ["D8_API_KEYS"] = apiKey,
            ["D8_JOIN_TOKEN"] = join,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information", // "Now listening on: …" tells the port
        };
        if (http2)
        {
            // Configured endpoints replace ASPNETCORE_URLS, so the HTTP/1.1 one is named again.
            environment["Kestrel__Endpoints__Http__Url"] = FreePort.Any;
            environment["Kestrel__Endpoints__H2__Url"] = FreePort.Any;
            environment["Kestrel__Endpoints__H2__Protocols"] = "Http2";
        }
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) environment[key] = value;
        var host = ProcessHost.Launch("D8.Orchestrator", environment, log: line => Console.Error.WriteLine(line),
            name: "orchestrator", keepOutput: false);
        var addresses = await host.WaitForListeningAsync(http2 ? 2 : 1, TimeSpan.FromSeconds(60));
        // Both endpoints bind port 0: the HTTP/1.1 one is whichever answers an HTTP/1.1 request with something other than
        // Kestrel's 400 for an HTTP/1.x request on an HTTP/2-only endpoint.
        var baseUrl = new Uri(addresses[0], "/");
        if (http2 && await IsHttp2OnlyAsync(baseUrl)) addresses = [addresses[1], addresses[0]];
        var orchestrator = new OrchestratorProcess(host, db, ownsDb, new Uri(addresses[0], "/"),
            http2 ? new Uri(addresses[1], "/") : null, apiKey, join);
        await host.WaitForHealthyAsync(new Uri(orchestrator.BaseUrl, "health").ToString(), TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20));
        return orchestrator;
    }

    /// <summary>
    /// True when <paramref name="url"/> refuses HTTP/1.1: Kestrel answers an HTTP/1.x request on an HTTP/2-only
    /// (prior-knowledge) endpoint with 400 and closes; the orchestrator's own /health never answers 400.
    /// </summary>
    private static async Task<bool> IsHttp2OnlyAsync(Uri url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            using var response = await http.GetAsync(new Uri(url, "health"));
            return response.StatusCode == System.Net.HttpStatusCode.BadRequest;
        }
        catch (HttpRequestException)
        {
            return true; // it closed the connection without an HTTP/1.1 answer
        }
    }

    /// <summary>
    /// Starts a worker process joined to this orchestrator with <paramref name="slots"/> slots and its free-tier budget
    /// off (a benchmark is not throttled to a free tier's requests a minute); <paramref name="model"/> sets D8_MODEL.
    /// </summary>
    public ProcessHost StartWorker(string name, string provider, string providerUrl, int slots, string providerKey, string? model = null)
    {
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any, // its /health is not used here
            ["D8_ORCHESTRATOR_URL"] = BaseUrl.ToString(),
            ["D8_JOIN_TOKEN"] = JoinToken,
            ["D8_WORKER_NAME"] = name,
            ["D8_PROVIDER"] = provider,
            ["D8_CONCURRENCY"] = slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["D8_RPM"] = "0",
            ["D8_TPM"] = "0",
            ["D8_RPD"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning",
        };
        if (model is not null) env["D8_MODEL"] = model;
        if (provider == "ollama") env["D8_OLLAMA_URL"] = providerUrl;
        else
        {
            env["D8_PROVIDER_BASE_URL"] = providerUrl;
            env["D8_PROVIDER_API_KEY"] = providerKey;
        }
        return ProcessHost.Launch("D8.Worker", env, log: line => Console.Error.WriteLine(line), name: name, keepOutput: false);
    }

    /// <summary>Peak resident set (VmHWM) of the orchestrator process, in MB.</summary>
    public double PeakRssMb() => StatusMb("VmHWM:");

    /// <summary>Current resident set (VmRSS) of the orchestrator process, in MB.</summary>
    public double RssMb() => StatusMb("VmRSS:");

    /// <summary>CPU time the orchestrator process has used so far.</summary>
    public TimeSpan CpuTime() => _host.CpuTime();

    private double StatusMb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kb = long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }
        return double.NaN;
    }

    /// <summary>Stops the process (SIGKILL, as a crash would) and waits for it, keeping the database.</summary>
    public Task KillAsync() => _host.KillAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        if (_ownsDb)
        {
            TempDatabase.Delete(_db);
        }
    }
}
