using D8.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace D8.Tests.Orchestrator;

/// <summary>
/// A bad environment a newcomer can cause ends the real process with one line naming the fix and exit code 2: a port
/// already taken (orchestrator and worker), a data folder it cannot write, a database another orchestrator holds, an
/// unreadable certificate, an invalid setting. Never a stack trace.
/// </summary>
public sealed class StartupFailureTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "d8-tests", "startup-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Orchestrator_on_a_taken_port_names_the_address_and_the_variables()
    {
        using var taken = FreePort.Hold(listen: true);

        var line = await RefusedAsync("D8.Orchestrator", Orchestrator(taken.Url, Path.Combine(_folder, "d8.db")));

        Assert.StartsWith($"d8-orchestrator: cannot listen on {taken.Url}", line, StringComparison.Ordinal);
        Assert.Contains("ASPNETCORE_URLS", line, StringComparison.Ordinal);
        Assert.Contains("HTTP_PORTS", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_on_a_taken_port_names_the_address_and_the_variables()
    {
        using var taken = FreePort.Hold(listen: true);
        using var noOrchestrator = FreePort.Hold();

        var line = await RefusedAsync("D8.Worker", new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = taken.Url,
            ["D8_ORCHESTRATOR_URL"] = noOrchestrator.Url,
            ["D8_JOIN_TOKEN"] = "join-secret",
            ["D8_PROVIDER"] = "ollama",
            ["D8_OLLAMA_URL"] = noOrchestrator.Url,
        });

        Assert.StartsWith($"d8-worker: cannot listen on {taken.Url}", line, StringComparison.Ordinal);
        Assert.Contains("ASPNETCORE_URLS", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orchestrator_whose_data_folder_cannot_be_written_names_it_and_D8_DB_PATH()
    {
        // A file where the folder should be: refused for root too (tests may run as root, who ignores file modes).
        Directory.CreateDirectory(_folder);
        var notAFolder = Path.Combine(_folder, "plain-file");
        await File.WriteAllTextAsync(notAFolder, "x");

        var line = await RefusedAsync("D8.Orchestrator", Orchestrator("http://127.0.0.1:0", Path.Combine(notAFolder, "d8.db")));

        Assert.StartsWith($"d8-orchestrator: the data folder {notAFolder} is not writable", line, StringComparison.Ordinal);
        Assert.Contains("D8_DB_PATH", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_orchestrator_on_the_same_database_is_refused_while_the_first_runs()
    {
        var db = Path.Combine(_folder, "d8.db");
        await using var first = await InProcessOrchestrator.StartAsync(dbPath: db);

        var line = await RefusedAsync("D8.Orchestrator", Orchestrator("http://127.0.0.1:0", db));

        Assert.Equal($"d8-orchestrator: the database {db} is in use by another orchestrator (it holds {db}.lock): " +
                     "stop that one first, or give this one its own D8_DB_PATH.", line);
        // The first one is untouched, and once it stops the file is free again.
        Assert.Empty((await first.CreateClient().ListTasksAsync()).Items);
        await first.StopAsync();
        await using var second = ProcessHost.Start("D8.Orchestrator", Orchestrator("http://127.0.0.1:0", db), log: output, name: "second");
        await second.WaitForListeningAsync(Timeout);
    }

    [Fact]
    public async Task Orchestrator_with_an_unreadable_certificate_names_both_files()
    {
        Directory.CreateDirectory(_folder);
        var cert = Path.Combine(_folder, "server.crt");
        var key = Path.Combine(_folder, "server.key");
        await File.WriteAllTextAsync(cert, "not a certificate");
        await File.WriteAllTextAsync(key, "not a key");
        var settings = Orchestrator("http://127.0.0.1:0", Path.Combine(_folder, "d8.db"));
        settings["D8_TLS"] = "true";
        settings["D8_TLS_CERT_FILE"] = cert;
        settings["D8_TLS_KEY_FILE"] = key;

        var line = await RefusedAsync("D8.Orchestrator", settings);

        Assert.StartsWith($"d8-orchestrator: cannot read the TLS certificate D8_TLS_CERT_FILE={cert} with its key D8_TLS_KEY_FILE={key}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orchestrator_with_an_invalid_setting_says_which()
    {
        var settings = Orchestrator("http://127.0.0.1:0", Path.Combine(_folder, "d8.db"));
        settings["D8_HEARTBEAT_SECONDS"] = "often";

        var line = await RefusedAsync("D8.Orchestrator", settings);

        Assert.StartsWith("d8-orchestrator: invalid configuration: ", line, StringComparison.Ordinal);
        Assert.Contains("D8_HEARTBEAT_SECONDS", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orchestrator_on_postgres_without_a_connection_string_names_D8_POSTGRES()
    {
        var settings = Orchestrator("http://127.0.0.1:0", Path.Combine(_folder, "d8.db"));
        settings["D8_STORE"] = "postgres";

        var line = await RefusedAsync("D8.Orchestrator", settings);

        Assert.StartsWith("d8-orchestrator: invalid configuration: D8_STORE=postgres needs D8_POSTGRES", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orchestrator_whose_postgres_server_cannot_be_reached_names_it_and_D8_POSTGRES()
    {
        using var nobody = FreePort.Hold();
        var settings = Orchestrator("http://127.0.0.1:0", Path.Combine(_folder, "d8.db"));
        settings["D8_STORE"] = "postgres";
        settings["D8_POSTGRES"] = $"Host=127.0.0.1;Port={nobody.Port};Username=d8;Password=secret-pw;Database=fleet;Timeout=5";

        var line = await RefusedAsync("D8.Orchestrator", settings);

        Assert.StartsWith($"d8-orchestrator: cannot use the PostgreSQL database fleet on 127.0.0.1:{nobody.Port}", line, StringComparison.Ordinal);
        Assert.Contains("check D8_POSTGRES", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Orchestrator_with_an_unknown_store_says_which_are_known()
    {
        var settings = Orchestrator("http://127.0.0.1:0", Path.Combine(_folder, "d8.db"));
        settings["D8_STORE"] = "mysql";

        var line = await RefusedAsync("D8.Orchestrator", settings);

        Assert.StartsWith("d8-orchestrator: invalid configuration: D8_STORE='mysql' must be 'sqlite'", line, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (DirectoryNotFoundException) { /* never created */ }
    }

    private static Dictionary<string, string?> Orchestrator(string url, string db) => new()
    {
        ["ASPNETCORE_URLS"] = url,
        ["D8_DB_PATH"] = db,
        ["D8_API_KEYS"] = Secret(),
        ["D8_JOIN_TOKEN"] = Secret(),
    };

    /// <summary>A secret strong enough for the orchestrator (256 random bits, hex).</summary>
    private static string Secret() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    /// <summary>Starts the app, expects exit code 2, and returns the one line it wrote about why (no stack trace anywhere).</summary>
    private async Task<string> RefusedAsync(string project, Dictionary<string, string?> settings)
    {
        settings["Logging__LogLevel__Default"] = "Warning";
        await using var process = ProcessHost.Start(project, settings, log: output, name: project);

        Assert.Equal(StartupFailure.ExitCode, await process.WaitForExitAsync(Timeout));
        Assert.DoesNotContain("   at ", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
        var prefix = project == "D8.Worker" ? "d8-worker: " : "d8-orchestrator: ";
        return Assert.Single(process.Output.Split('\n', StringSplitOptions.TrimEntries), l => l.StartsWith(prefix, StringComparison.Ordinal));
    }
}
