using System.Diagnostics;
using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Dispatch;

/// <summary>The real orchestrator (its built dll) as a child process on a free loopback port with a temp SQLite file.</summary>
internal sealed class OrchestratorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _db;
    private readonly bool _ownsDb;

    private OrchestratorProcess(Process process, string db, bool ownsDb, Uri baseUrl, string apiKey, string joinToken)
    {
        _process = process;
        _db = db;
        _ownsDb = ownsDb;
        BaseUrl = baseUrl;
        ApiKey = apiKey;
        JoinToken = joinToken;
    }

    public Uri BaseUrl { get; }
    public string ApiKey { get; }
    public string JoinToken { get; }
    public int Pid => _process.Id;

    /// <summary>The SQLite file it uses.</summary>
    public string DbPath => _db;

    /// <summary>
    /// Starts the orchestrator and waits until /health answers. With <paramref name="db"/> it uses (and keeps) that
    /// file, with the given credentials; otherwise a fresh temp file deleted on dispose.
    /// </summary>
    public static async Task<OrchestratorProcess> StartAsync(string configuration, string? db = null,
        string? apiKey = null, string? joinToken = null)
    {
        var dll = FindDll(configuration);
        var port = FreePort.Next();
        var ownsDb = db is null;
        db ??= TempDatabase.NewPath("dispatch", "d8-bench");
        apiKey ??= "bench-key-" + Guid.NewGuid().ToString("N");
        var join = joinToken ?? "bench-join-" + Guid.NewGuid().ToString("N");
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.ArgumentList.Add(dll);
        psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["D8_DB_PATH"] = db;
        psi.Environment["D8_API_KEYS"] = apiKey;
        psi.Environment["D8_JOIN_TOKEN"] = join;
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        psi.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("[orchestrator] " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var host = new OrchestratorProcess(process, db, ownsDb, new Uri($"http://127.0.0.1:{port}/"), apiKey, join);
        await host.WaitHealthyAsync();
        return host;
    }

    /// <summary>Peak resident set (VmHWM) of the orchestrator process, in MB.</summary>
    public double PeakRssMb() => StatusMb("VmHWM:");

    /// <summary>Current resident set (VmRSS) of the orchestrator process, in MB.</summary>
    public double RssMb() => StatusMb("VmRSS:");

    private double StatusMb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
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
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>CPU time the orchestrator process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    private async Task WaitHealthyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"orchestrator exited with {_process.ExitCode}");
            try
            {
                if ((await http.GetAsync(new Uri(BaseUrl, "health"))).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            await Task.Delay(20);
        }
        throw new TimeoutException("orchestrator did not become healthy");
    }

    private static string FindDll(string configuration)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "D8.Orchestrator", "bin", configuration, "net10.0", "D8.Orchestrator.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"D8.Orchestrator.dll ({configuration}) not found; build the solution first.");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        if (!_ownsDb) return;
        TempDatabase.Delete(_db);
    }
}
