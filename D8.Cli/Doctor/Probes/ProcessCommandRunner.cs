using System.ComponentModel;
using System.Diagnostics;

namespace D8.Cli.Doctor.Probes;

/// <summary>Runs real processes; a missing program is reported as <see cref="CommandResult.NotFound"/>, not thrown.</summary>
public sealed class ProcessCommandRunner(IReadOnlyDictionary<string, string>? environment = null) : ICommandRunner
{
    public async Task<CommandResult> RunAsync(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception)
        {
            return new CommandResult(-1, "", $"{program} not found", NotFound: true);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return new CommandResult(-1, "", $"{program} did not answer within {timeout.TotalSeconds:0} s");
        }
        return new CommandResult(process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }
}
