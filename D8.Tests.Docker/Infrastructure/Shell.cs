using System.Diagnostics;
using System.Text;

namespace D8.Tests.Docker.Infrastructure;

/// <summary>Output of a finished process (stdout and stderr interleaved as read).</summary>
public sealed record ShellResult(int ExitCode, string Output)
{
    public override string ToString() => $"exit {ExitCode}: {Output}";
}

/// <summary>
/// Runs a process to completion with a deadline; the process tree is killed on timeout or cancellation. The child does
/// not inherit the runner's D8 settings or provider keys (<see cref="D8.Tests.Infrastructure.ChildEnvironment"/>), nor
/// any variable named in <c>withhold</c> (docker-compose gives the shell's variables precedence over a project's .env).
/// </summary>
public static class Shell
{
    public static async Task<ShellResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null,
        CancellationToken ct = default, IEnumerable<string>? withhold = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        D8.Tests.Infrastructure.ChildEnvironment.Scrub(start.Environment);
        foreach (var key in withhold ?? []) start.Environment.Remove(key);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = new StringBuilder();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        async Task PumpAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync(deadline.Token) is { } line)
            {
                lock (output) output.AppendLine(line);
            }
        }
        try
        {
            await Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError), process.WaitForExitAsync(deadline.Token));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}: {output}");
        }
        return new ShellResult(process.ExitCode, output.ToString());
    }
}
