using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace D8.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster for tests and benchmarks: <c>initdb</c> into a temp folder, <c>postgres</c> on a free
/// loopback port, trust authentication for the user <c>d8</c>, no fsync (a test cluster). When <c>D8_TEST_POSTGRES</c>
/// is set (a connection string to a server the tests may create databases on) that server is used instead and nothing
/// is started. Run as root, the server runs as the <c>postgres</c> system user (PostgreSQL refuses root) through
/// <c>setpriv</c>, which execs in place so the child we hold is the postmaster itself.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>Set to use an existing server (superuser connection string) instead of starting one.</summary>
    public const string ExternalVariable = "D8_TEST_POSTGRES";

    private readonly Process? postmaster;
    private readonly string? folder;

    private PostgresServer(string adminConnectionString, Process? postmaster, string? folder)
    {
        AdminConnectionString = adminConnectionString;
        this.postmaster = postmaster;
        this.folder = folder;
    }

    /// <summary>Superuser connection string to the <c>postgres</c> database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The folder holding initdb/postgres/pg_ctl, or null (PATH first, then Debian's /usr/lib/postgresql/N/bin).</summary>
    public static string? FindBinaries()
    {
        var fromPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "postgres")));
        if (fromPath is not null) return fromPath;
        const string debian = "/usr/lib/postgresql";
        if (!Directory.Exists(debian)) return null;
        return Directory.GetDirectories(debian)
            .Select(dir => Path.Combine(dir, "bin"))
            .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
            .OrderByDescending(bin => bin, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    /// <summary>
    /// Null when a server can be had here; otherwise why not (for a skip reason). Under CI (<c>CI=true</c>) callers must
    /// fail instead of skipping: <c>.ci/run</c> installs the server binaries.
    /// </summary>
    public static string? Unavailable =>
        Environment.GetEnvironmentVariable(ExternalVariable) is { Length: > 0 } || FindBinaries() is not null
            ? null
            : $"no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql, and {ExternalVariable} is not set: apt-get install postgresql";

    /// <summary>
    /// Starts a cluster (or attaches to <c>D8_TEST_POSTGRES</c>). <paramref name="durable"/>: PostgreSQL's default
    /// fsync and synchronous commit (for benchmarks), instead of a test cluster's fsync=off.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default, bool durable = false)
    {
        if (Environment.GetEnvironmentVariable(ExternalVariable) is { Length: > 0 } external)
            return new PostgresServer(external, null, null);
        var bin = FindBinaries() ?? throw new InvalidOperationException(Unavailable);
        RemoveAbandonedClusters(Path.Combine(Path.GetTempPath(), "d8-pg"));
        var folder = Path.Combine(Path.GetTempPath(), "d8-pg", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var data = Path.Combine(folder, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot) await RunAsync("chown", ["-R", "postgres:postgres", folder], cancellationToken);
        await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", "d8", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"], cancellationToken, asRoot);

        // postgres cannot bind port 0 and report it (postmaster.pid names the configured port): hold a free port until the
        // postmaster is started, the one moment another process could take it, and retry on that rare collision.
        for (var attempt = 1; ; attempt++)
        {
            int port;
            using (var held = FreePort.Hold()) port = held.Port;
            var postmaster = StartPostmaster(bin, data, folder, port, asRoot, durable);
            var connection = $"Host=127.0.0.1;Port={port};Username=d8;Database=postgres;Pooling=false;Timeout=15";
            if (await WaitAcceptingAsync(postmaster, port, cancellationToken))
                return new PostgresServer(connection, postmaster, folder);
            if (!postmaster.HasExited) postmaster.Kill(entireProcessTree: true);
            await postmaster.WaitForExitAsync(CancellationToken.None);
            if (attempt == 3)
                throw new InvalidOperationException($"PostgreSQL did not start in {folder}: {await File.ReadAllTextAsync(Path.Combine(folder, "postgres.log"), cancellationToken)}");
        }
    }

    /// <summary>
    /// Creates a fresh database (owned by <c>d8</c>) and returns its connection string; every test gets its own so
    /// state never leaks between tests sharing one server.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "d8test", CancellationToken cancellationToken = default)
    {
        var name = $"{prefix[..Math.Min(prefix.Length, 24)]}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using var connection = new Npgsql.NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE \"{name}\"";
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new Npgsql.NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ToString();
    }

    /// <summary>
    /// Stops the server without awaiting anything, for a process-exit handler: fast shutdown (SIGINT), a short wait,
    /// then a kill; removes the folder.
    /// </summary>
    /// <summary>
    /// Deletes cluster folders a killed test host left behind (its shared cluster stops at process exit, but a host
    /// killed by the runner cannot delete the folder): those untouched for 10 minutes whose postmaster is not running.
    /// </summary>
    private static void RemoveAbandonedClusters(string root)
    {
        if (!Directory.Exists(root)) return;
        foreach (var folder in Directory.GetDirectories(root))
        {
            if (Directory.GetLastWriteTimeUtc(folder) > DateTime.UtcNow.AddMinutes(-10)) continue;
            var pidFile = Path.Combine(folder, "data", "postmaster.pid");
            try
            {
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid)
                    && Directory.Exists($"/proc/{pid}"))
                {
                    continue;
                }
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException) { /* in use or already gone: leave it */ }
            catch (UnauthorizedAccessException) { }
        }
    }

    public void Stop()
    {
        if (postmaster is { HasExited: false })
        {
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", postmaster.Id.ToString()]) { UseShellExecute = false }))
                kill?.WaitForExit(5000);
            if (!postmaster.WaitForExit(10_000)) postmaster.Kill(entireProcessTree: true);
        }
        if (folder is not null)
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (postmaster is not null)
        {
            if (!postmaster.HasExited)
            {
                // Fast shutdown (SIGINT); the postmaster takes its backends down with it.
                using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", postmaster.Id.ToString()]) { UseShellExecute = false }))
                    if (kill is not null) await kill.WaitForExitAsync();
                using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try { await postmaster.WaitForExitAsync(patience.Token); }
                catch (OperationCanceledException) { postmaster.Kill(entireProcessTree: true); await postmaster.WaitForExitAsync(); }
            }
            postmaster.Dispose();
        }
        if (folder is not null)
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static Process StartPostmaster(string bin, string data, string folder, int port, bool asRoot, bool durable)
    {
        string[] arguments =
        [
            "-D", data, "-p", port.ToString(), "-k", folder, "-c", "listen_addresses=127.0.0.1",
            .. durable ? (string[])[] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            "-c", "max_connections=200", "-c", "logging_collector=off",
        ];
        var start = Command(Path.Combine(bin, "postgres"), arguments, asRoot);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        var process = Process.Start(start) ?? throw new InvalidOperationException("postgres did not start");
        var log = Path.Combine(folder, "postgres.log");
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) AppendLog(log, e.Data); };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) AppendLog(log, e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private static void AppendLog(string log, string line)
    {
        lock (typeof(PostgresServer)) File.AppendAllText(log, line + "\n");
    }

    /// <summary>True once the server accepts SQL; false when the postmaster exited (e.g. port taken) or 60 s passed.</summary>
    private static async Task<bool> WaitAcceptingAsync(Process postmaster, int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !postmaster.HasExited)
        {
            try
            {
                await using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=d8;Database=postgres;Pooling=false;Timeout=5");
                await connection.OpenAsync(cancellationToken);
                return true;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or SocketException or TimeoutException)
            {
                // Not accepting yet: wait for the postmaster to exit or a short while, whichever comes first.
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                tick.CancelAfter(TimeSpan.FromMilliseconds(100));
                try { await postmaster.WaitForExitAsync(tick.Token); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            }
        }
        return false;
    }

    private static ProcessStartInfo Command(string file, string[] arguments, bool asRoot)
    {
        var start = asRoot
            ? new ProcessStartInfo("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", file, .. arguments])
            : new ProcessStartInfo(file, arguments);
        start.UseShellExecute = false;
        ChildEnvironment.Scrub(start.Environment);
        start.Environment["LC_ALL"] = "C";
        return start;
    }

    private static async Task RunAsync(string file, string[] arguments, CancellationToken cancellationToken, bool asRoot = false)
    {
        var start = Command(file, arguments, asRoot);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidOperationException(new StringBuilder($"{Path.GetFileName(file)} exited {process.ExitCode}: ")
                .Append(await stderr).Append(await stdout).ToString());
    }
}
