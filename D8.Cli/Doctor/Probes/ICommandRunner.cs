namespace D8.Cli.Doctor.Probes;

/// <summary>What a finished command said. <see cref="NotFound"/> means the program is not installed.</summary>
public sealed record CommandResult(int ExitCode, string StdOut, string StdErr, bool NotFound = false);

/// <summary>Runs a program (docker) and captures its output.</summary>
public interface ICommandRunner
{
    Task<CommandResult> RunAsync(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct);
}
