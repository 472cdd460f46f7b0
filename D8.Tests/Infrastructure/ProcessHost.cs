using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace D8.Tests.Infrastructure;

/// <summary>
/// Runs one of the solution's apps (its built dll) as a real child process, captures its output, and
/// stops it either gracefully (SIGTERM) or hard (SIGKILL). Disposing kills whatever still runs. The one process
/// launcher for tests and benchmarks (this file is also compiled into D8.Benchmarks; the xunit adapter is in
/// ProcessHost.Xunit.cs).
/// </summary>
public sealed partial class ProcessHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();
    private readonly List<(string Text, TaskCompletionSource Signal)> _watches = [];
    private readonly List<Uri> _listening = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _listeningWaits = [];
    private readonly Action<string>? _log;
    private readonly bool _keepOutput;
    private readonly string _name;

    private ProcessHost(string name, Process process, Action<string>? log, bool keepOutput)
    {
        _name = name;
        _process = process;
        _log = log;
        _keepOutput = keepOutput;
    }

    /// <summary>The child's pid.</summary>
    public int Pid => _process.Id;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (_gate) { return _output.ToString(); } }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts `dotnet &lt;project&gt;.dll args…` (built in the caller's configuration) with the given environment added
    /// to this process's own. Every output line goes to <paramref name="log"/>; with <paramref name="keepOutput"/> false
    /// (long benchmark runs) lines are not kept for <see cref="Output"/> and <see cref="WaitForOutputAsync"/>.
    /// </summary>
    public static ProcessHost Launch(string project, IReadOnlyDictionary<string, string?> environment,
        IEnumerable<string>? args = null, Action<string>? log = null, string? name = null, bool keepOutput = true)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(AppPaths.DllOf(project))!,
        };
        psi.ArgumentList.Add(AppPaths.DllOf(project));
        foreach (var a in args ?? [])
        {
            psi.ArgumentList.Add(a);
        }
        ChildEnvironment.Scrub(psi.Environment);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in environment)
        {
            if (value is null) psi.Environment.Remove(key);
            else psi.Environment[key] = value;
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var host = new ProcessHost(name ?? project, process, log, keepOutput);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Completes when a line containing <paramref name="text"/> has been written (case-sensitive).</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (_output.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _watches.Add((text, signal));
        }
        try
        {
            await signal.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_name} did not write '{text}' within {timeout}. Output:\n{Tail()}");
        }
    }

    /// <summary>
    /// The first address an ASP.NET Core child says it listens on ("Now listening on: …", logged by
    /// Microsoft.Hosting.Lifetime at Information): start children on port 0 (<see cref="FreePort.Any"/>) and read the port
    /// they got here, so no port is released by the test and taken by someone else before the child binds it.
    /// </summary>
    public async Task<Uri> WaitForListeningAsync(TimeSpan timeout) => (await WaitForListeningAsync(1, timeout))[0];

    /// <summary>The first <paramref name="count"/> addresses the child says it listens on, in the order it said them
    /// (also with keepOutput off: these lines are always noted).</summary>
    public async Task<IReadOnlyList<Uri>> WaitForListeningAsync(int count, TimeSpan timeout)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (_listening.Count >= count) return [.. _listening.Take(count)];
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _listeningWaits.Add((count, signal));
        }
        try
        {
            await Task.WhenAny(signal.Task, _process.WaitForExitAsync()).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_name} did not say it listens on {count} address(es) within {timeout} " +
                                       $"(is Microsoft.Hosting.Lifetime logged at Information?). Output:\n{Tail()}");
        }
        lock (_gate)
        {
            if (_listening.Count >= count) return [.. _listening.Take(count)];
        }
        throw new InvalidOperationException($"{_name} exited with {_process.ExitCode} before it listened. Output:\n{Tail()}");
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx, failing early if the process exits.</summary>
    public async Task WaitForHealthyAsync(string url, TimeSpan timeout, TimeSpan? interval = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_name} exited with {_process.ExitCode} before {url} was healthy. Output:\n{Tail()}");
            }
            try
            {
                using var response = await http.GetAsync(url);
                // A standby orchestrator (shared PostgreSQL store) answers /health 200 with X-D8-Role: standby while
                // it waits for the leader lease (after a kill -9, until the dead holder's lease expires): not serving yet.
                var serving = !response.Headers.TryGetValues("X-D8-Role", out var roles) || roles.Contains("active");
                if (response.IsSuccessStatusCode && serving)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // slow start on a loaded machine
            }
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100)); // polling interval of a readiness probe, not synchronisation
        }
        throw new TimeoutException($"{url} was not healthy within {timeout}. Output:\n{Tail()}");
    }

    /// <summary>CPU time the process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>SIGKILL: the process dies at once, as on a power cut or OOM kill.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit code (SIGKILL after <paramref name="timeout"/>).</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = SysKill(_process.Id, 15);
        }
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            await KillAsync();
            throw new TimeoutException($"{_name} did not exit within {timeout}. Output:\n{Tail()}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        _process.Dispose();
    }

    private string Tail()
    {
        var text = Output;
        return text.Length > 6000 ? text[^6000..] : text;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        List<TaskCompletionSource> hits = [];
        lock (_gate)
        {
            NoteListening(line, hits);
            if (!_keepOutput)
            {
                foreach (var hit in hits) hit.TrySetResult();
                _log?.Invoke($"[{_name}] {line}");
                return;
            }
            _output.AppendLine(line);
            var all = _output.ToString();
            _watches.RemoveAll(w =>
            {
                if (!line.Contains(w.Text, StringComparison.Ordinal) && !all.Contains(w.Text, StringComparison.Ordinal)) return false;
                hits.Add(w.Signal);
                return true;
            });
        }
        foreach (var hit in hits)
        {
            hit.TrySetResult();
        }
        _log?.Invoke($"[{_name}] {line}");
    }

    /// <summary>Notes a "Now listening on: URL" line (under the gate) and collects the waits it satisfies.</summary>
    private void NoteListening(string line, List<TaskCompletionSource> hits)
    {
        const string marker = "Now listening on: ";
        var start = line.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0 || !Uri.TryCreate(line[(start + marker.Length)..].Trim(), UriKind.Absolute, out var address)) return;
        _listening.Add(address);
        _listeningWaits.RemoveAll(w =>
        {
            if (_listening.Count < w.Count) return false;
            hits.Add(w.Signal);
            return true;
        });
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
