namespace D8.Cli;

/// <summary>An error the user can act on: printed as one line, no stack trace, with the given exit code.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>The process exit code for this error.</summary>
    public int ExitCode { get; } = exitCode;
}
