using D8.Contracts;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Leadership;

/// <summary>Two orchestrator processes on one database, each with its own port and data folder.</summary>
public sealed class OrchestratorPair(string database, ITestOutputHelper log, double leaseSeconds,
    IReadOnlyDictionary<string, string?>? extra = null) : IAsyncDisposable
{
    // Picked up front, unlike other children (port 0): each orchestrator advertises its URL (D8_PUBLIC_URL) to clients
    // while active, workers are given both URLs before either starts, and a restart must come back on the same port.
    private readonly int[] _ports = [PickPort(), PickPort()];
    private readonly string[] _dbPaths = [TempDatabase.NewPath("standby-a"), TempDatabase.NewPath("standby-b")];
    private readonly List<ProcessHost> _processes = [];
    private readonly ProcessHost?[] _current = new ProcessHost?[2];

    /// <summary>How long a role change may take on a loaded machine.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public string ApiKey { get; } = "key-" + Guid.NewGuid().ToString("N");
    public string JoinToken { get; } = "join-" + Guid.NewGuid().ToString("N");
    public Uri[] Urls => [.. _ports.Select(p => new Uri($"http://127.0.0.1:{p}/"))];

    public string PublicUrl(int i) => $"http://127.0.0.1:{_ports[i]}";

    /// <summary>The orchestrator process last started as <paramref name="i"/> (0 or 1).</summary>
    public ProcessHost? Process(int i) => _current[i];

    private static int PickPort()
    {
        using var held = FreePort.Hold();
        return held.Port;
    }

    private static string Name(int i) => i == 0 ? "orchestrator-a" : "orchestrator-b";

    /// <summary>Which of the two answers /health as active right now, or null.</summary>
    public async Task<int?> ActiveAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < 2; i++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(Urls[i], "health"));
                if (response.Headers.TryGetValues("X-D8-Role", out var roles) && roles.Contains("active")) return i;
            }
            catch (HttpRequestException)
            {
                // not listening (killed, or between standby and active)
            }
        }
        return null;
    }

    /// <summary>Starts orchestrator <paramref name="i"/> (again) on its port, data folder and the shared database.</summary>
    public ProcessHost Start(int i)
    {
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = PublicUrl(i),
            ["D8_DB_PATH"] = _dbPaths[i],
            ["D8_JOIN_TOKEN"] = JoinToken,
            ["D8_API_KEYS"] = ApiKey,
            ["D8_STORE"] = "postgres",
            ["D8_POSTGRES"] = database,
            ["D8_LEADER_LEASE_SECONDS"] = leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__D8"] = "Information",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>()) env[key] = value;
        var process = ProcessHost.Start("D8.Orchestrator", env, log: log, name: Name(i));
        _processes.Add(process);
        _current[i] = process;
        return process;
    }

    /// <summary>A client with the API key following the given orchestrators, in that order.</summary>
    public OrchestratorClient Client(params int[] order)
    {
        var handler = new ActiveOrchestratorHandler([.. order.Select(i => Urls[i])]) { InnerHandler = new SocketsHttpHandler() };
        return new OrchestratorClient(new HttpClient(handler) { BaseAddress = Urls[order[0]], Timeout = TimeSpan.FromSeconds(60) }) { ApiKey = ApiKey };
    }

    /// <summary>Until orchestrator <paramref name="i"/>'s /health names <paramref name="role"/> (X-D8-Role).</summary>
    public async Task WaitForRoleAsync(int i, string role)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + Timeout;
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(Urls[i], "health"));
                last = $"{(int)response.StatusCode} {string.Join(",", response.Headers.TryGetValues("X-D8-Role", out var r) ? r : [])}";
                if (response.IsSuccessStatusCode && last.EndsWith(" " + role, StringComparison.Ordinal)) return;
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(50); // polling interval of a readiness probe, not synchronisation
        }
        throw new TimeoutException($"orchestrator {i} never answered /health as {role}: {last}");
    }

    public async Task<string?> ActiveNamedByAsync(int i)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(new Uri(Urls[i], "health"));
        return response.Headers.TryGetValues("X-D8-Active", out var v) ? v.Single() : null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
        foreach (var path in _dbPaths) TempDatabase.Delete(path);
    }
}
