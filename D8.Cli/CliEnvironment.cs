using D8.Cli.Doctor.Probes;

namespace D8.Cli;

/// <summary>
/// Everything the CLI reads from the machine it runs on: environment variables, folders, the clock and the
/// system probes. Tests build one by hand so a command can run in-process against a chosen world.
/// </summary>
public sealed class CliEnvironment
{
    /// <summary>Environment variables as the commands see them.</summary>
    public required IReadOnlyDictionary<string, string> Variables { get; init; }

    /// <summary>Folder relative paths (.env, compose file) are resolved against.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>The user's home folder (for ~/.config/d8/config.json).</summary>
    public required string HomeDirectory { get; init; }

    /// <summary>True when prompts may be shown (a terminal on both ends).</summary>
    public bool Interactive { get; init; }

    /// <summary>True when the output is a terminal that understands ANSI colours and cursor moves.</summary>
    public bool Ansi { get; init; }

    /// <summary>Console width used for tables when it cannot be detected.</summary>
    public int Width { get; init; } = 160;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Docker, memory, disk and CPU facts for setup and doctor.</summary>
    public required ISystemProbe System { get; init; }

    /// <summary>Handler for outgoing HTTP; null uses the default socket handler.</summary>
    public Func<HttpMessageHandler>? HttpHandlerFactory { get; init; }

    /// <summary>Reads a variable, treating empty as unset.</summary>
    public string? Get(string name) =>
        Variables.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;

    /// <summary>Resolves a user-given path against <see cref="WorkingDirectory"/>, expanding a leading ~.</summary>
    public string ResolvePath(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            path = Path.Combine(HomeDirectory, path.Length > 2 ? path[2..] : "");
        }
        return Path.GetFullPath(path, WorkingDirectory);
    }

    /// <summary>The environment of the current process and the real system probes.</summary>
    public static CliEnvironment FromProcess()
    {
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            vars[(string)entry.Key] = entry.Value as string ?? "";
        }
        var redirected = Console.IsInputRedirected || Console.IsOutputRedirected;
        return new CliEnvironment
        {
            Variables = vars,
            WorkingDirectory = Environment.CurrentDirectory,
            HomeDirectory = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
            Interactive = !redirected,
            Ansi = !Console.IsOutputRedirected && !vars.ContainsKey("NO_COLOR"),
            Width = Console.IsOutputRedirected ? 500 : Math.Max(Console.WindowWidth, 60),
            System = new RealSystemProbe(),
        };
    }
}
