using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using D8.Contracts;

namespace D8.Tests.Docker.Infrastructure;

/// <summary>
/// One compose project per test: the committed docker-compose.generated.yml plus docker/compose.emulators.yml (and an
/// optional extra override) in a temp folder, a unique project name, free host ports, fresh secrets. Disposing always
/// runs `down -v --remove-orphans`, also when the test failed. The orchestrator serves HTTPS with its own CA (the committed
/// default): the first <see cref="UpAsync"/> starts it alone, reads the pinned join token with
/// `exec orchestrator /app/D8.Orchestrator join-token` and puts it in the .env before the workers start, as docs/deploy.md
/// tells an operator to; the test's client trusts the orchestrator through the same pin.
/// </summary>
public sealed class ComposeProject : IAsyncDisposable
{
    private static readonly string[] AllProfiles = ["orchestrator", "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai", "full-system", "dashboard"];
    private readonly List<string> _files = ["docker-compose.generated.yml", "compose.emulators.yml", "compose.timing.yml"];

    /// <summary>
    /// Short timings for the tests only (the committed file keeps the operator defaults): a 15 s lease renewed every 3 s
    /// instead of 60 s / 10 s, so a killed worker's task is retried within seconds, and health checks every 3 s instead
    /// of 15 s, so `healthy` is seen soon after start-up. A test's own override (added after this one) still wins.
    /// </summary>
    private const string TimingOverride = """
        services:
          orchestrator:
            environment:
              D8_LEASE_SECONDS: "15"
              D8_HEARTBEAT_SECONDS: "3"
              D8_OFFLINE_AFTER_SECONDS: "10"
            healthcheck:
              interval: "3s"
          ollama:
            healthcheck:
              interval: "3s"
          ollama-pull:
            healthcheck:
              interval: "3s"
          worker-deepseek:
            healthcheck:
              interval: "3s"
          worker-groq:
            healthcheck:
              interval: "3s"
          worker-gemini:
            healthcheck:
              interval: "3s"
          worker-openai:
            healthcheck:
              interval: "3s"
        """;
    private HttpClient? _http;
    private OrchestratorClient? _client;

    private ComposeProject(string directory, string name, int port, string apiKey)
    {
        Directory = directory;
        Name = name;
        OrchestratorPort = port;
        ApiKey = apiKey;
    }

    /// <summary>The pinned join token the orchestrator wrote (null until the first <see cref="UpAsync"/> with it).</summary>
    public string? JoinToken { get; private set; }

    public string Directory { get; }
    public string Name { get; }
    public int OrchestratorPort { get; }
    public string ApiKey { get; }

    /// <summary>Client of the orchestrator's published port, over HTTPS checked against the join token's pin.</summary>
    public OrchestratorClient Client => _client ?? throw new InvalidOperationException("Start the orchestrator first (UpAsync).");

    /// <summary>Creates the folder and .env; <paramref name="variables"/> add to or replace the defaults.</summary>
    public static ComposeProject Create(IReadOnlyDictionary<string, string>? variables = null, string? extraOverride = null)
    {
        var name = "d8t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var dir = Path.Combine(Path.GetTempPath(), name);
        System.IO.Directory.CreateDirectory(dir);
        var root = TestImages.RepositoryRoot;
        File.Copy(Path.Combine(root, "docker-compose.generated.yml"), Path.Combine(dir, "docker-compose.generated.yml"));
        File.Copy(Path.Combine(root, "docker", "compose.emulators.yml"), Path.Combine(dir, "compose.emulators.yml"));
        File.WriteAllText(Path.Combine(dir, "compose.timing.yml"), TimingOverride);
        var port = FreePort();
        var apiKey = Secret();
        var env = new Dictionary<string, string>
        {
            ["COMPOSE_PROJECT_NAME"] = name,
            ["D8_TAG"] = TestImages.Tag,
            ["D8_JOIN_TOKEN"] = Secret(),
            ["D8_API_KEYS"] = apiKey,
            ["D8_ORCHESTRATOR_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OLLAMA_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DASHBOARD_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Each machine here has 2 cores: the Pi default (3) cannot be granted.
            ["OLLAMA_CPUS"] = "1",
            ["GROQ_API_KEY"] = "test-" + Secret(),
            ["GEMINI_API_KEY"] = "test-" + Secret(),
            ["OPENAI_API_KEY"] = "test-" + Secret(),
            ["OPENAI_BASE_URL"] = "http://openai-emulator:8080/v1",
            ["OPENAI_MODEL"] = "gpt-4o-mini",
        };
        foreach (var (k, v) in variables ?? new Dictionary<string, string>()) env[k] = v;
        File.WriteAllLines(Path.Combine(dir, ".env"), env.Select(kv => $"{kv.Key}={kv.Value}"));
        var project = new ComposeProject(dir, name, port, apiKey);
        if (extraOverride is not null)
        {
            File.WriteAllText(Path.Combine(dir, "compose.test.yml"), extraOverride);
            project._files.Add("compose.test.yml");
        }
        return project;
    }

    /// <summary>Runs docker-compose with the project's files; throws with the output on a non-zero exit.</summary>
    public async Task<string> ComposeAsync(IEnumerable<string> profiles, params string[] args)
    {
        var command = DockerEngine.ComposeCommand;
        string[] all = [.. command.Skip(1), .. _files.SelectMany(f => new[] { "-f", f }), .. profiles.SelectMany(p => new[] { "--profile", p }), .. args];
        var result = await Shell.RunAsync(command[0], all, TimeSpan.FromMinutes(6), Directory, withhold: Interpolated());
        if (result.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', command)} {string.Join(' ', args)} failed: {result}");
        return result.Output;
    }

    /// <summary>`up -d` for the given profiles; the first time with the orchestrator, it starts alone and the pinned token is read first.</summary>
    public async Task<string> UpAsync(params string[] profiles)
    {
        if (JoinToken is null && profiles.Any(p => p is "orchestrator" or "full-system"))
        {
            await ComposeAsync(profiles, "up", "-d", "orchestrator");
            await WaitHealthyAsync(Deployment.Timeouts.Healthy, "orchestrator");
            var printed = await ComposeAsync(profiles, "exec", "-T", "orchestrator", "/app/D8.Orchestrator", "join-token");
            var token = printed.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith(D8.Contracts.Trust.JoinToken.Prefix, StringComparison.Ordinal));
            if (!D8.Contracts.Trust.JoinToken.TryParse(token, out var parsed, out var error) || !parsed.IsPinned) throw new InvalidOperationException(error);
            var envPath = Path.Combine(Directory, ".env");
            File.WriteAllLines(envPath, File.ReadAllLines(envPath).Select(l => l.StartsWith("D8_JOIN_TOKEN=", StringComparison.Ordinal) ? "D8_JOIN_TOKEN=" + token : l));
            JoinToken = token;
            _http = new HttpClient(new D8.Contracts.Trust.PinnedTrust(parsed.Pin, TimeProvider.System).CreateHandler())
            {
                BaseAddress = new Uri($"https://127.0.0.1:{OrchestratorPort}"), Timeout = TimeSpan.FromSeconds(60),
            };
            _client = new OrchestratorClient(_http) { ApiKey = ApiKey };
        }
        return await ComposeAsync(profiles, "up", "-d");
    }

    /// <summary>The container id of a service (empty when it has none).</summary>
    public async Task<string> ContainerAsync(string service) => (await ComposeAsync(AllProfiles, "ps", "-q", service)).Trim();

    /// <summary>Health status (healthy, starting, unhealthy) or, without a health check, the state (running, exited).</summary>
    public async Task<string> StatusAsync(string service)
    {
        var id = await ContainerAsync(service);
        if (id.Length == 0) return "no container";
        var result = await Shell.RunAsync("docker", ["inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", id], TimeSpan.FromSeconds(30));
        return result.Output.Trim();
    }

    /// <summary>Waits until every service reports healthy through its own health check.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, params string[] services)
    {
        await Poll.UntilAsync<string>(async _ =>
        {
            var states = new List<string>();
            foreach (var s in services) states.Add($"{s}={await StatusAsync(s)}");
            return (states.All(s => s.EndsWith("=healthy", StringComparison.Ordinal)) ? "ok" : null, string.Join(", ", states));
        }, timeout, $"{string.Join(", ", services)} healthy");
    }

    /// <summary>A service's log (all its containers so far).</summary>
    public Task<string> LogsAsync(string service) => ComposeAsync(AllProfiles, "logs", "--no-color", service);

    /// <summary>`docker kill` of a service's container (SIGKILL: no drain, no deregistration).</summary>
    public async Task KillAsync(string service)
    {
        var id = await ContainerAsync(service);
        var result = await Shell.RunAsync("docker", ["kill", id], TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>Submits a prompt and returns the task id.</summary>
    public async Task<string> SubmitAsync(string prompt, string? provider = null) =>
        (await Client.SubmitAsync(new SubmitTaskRequest { Prompt = prompt, Provider = provider }, TestContext.Current.CancellationToken)).Id;

    /// <summary>Waits until the task is terminal.</summary>
    public Task<TaskView> WaitTerminalAsync(string id, TimeSpan timeout) =>
        Poll.UntilAsync<TaskView>(async ct =>
        {
            var task = await Client.GetTaskAsync(id, TimeSpan.FromSeconds(5), ct);
            return (task.State.IsTerminal() ? task : null, $"{task.State} (attempts {task.Attempts}, leased by {task.LeasedBy})");
        }, timeout, $"task {id} to finish");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ComposeAsync(AllProfiles, "down", "-v", "--remove-orphans", "-t", "60");
        }
        finally
        {
            _http?.Dispose();
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    /// <summary>Every variable the project's compose files interpolate: the runner's own values must not override the .env.</summary>
    private IEnumerable<string> Interpolated() =>
        _files.SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Path.Combine(Directory, f)), @"\$\{([A-Za-z_][A-Za-z0-9_]*)")
            .Select(m => m.Groups[1].Value)).Distinct(StringComparer.Ordinal);

    private static string Secret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
