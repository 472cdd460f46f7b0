using System.Runtime.InteropServices;
using D8.Cli;
using D8.Cli.Doctor.Probes;

namespace D8.Tests.Cli;

/// <summary>What one in-process d8 run printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
}

/// <summary>
/// Runs d8 commands in-process through <see cref="CliApp.RunAsync"/> with a chosen environment: its own temp
/// working folder and home (so no real ~/.config or .env leaks in), explicit variables and system probes.
/// </summary>
public sealed class CliRun : IDisposable
{
    public CliRun()
    {
        Directory.CreateDirectory(WorkingDirectory);
        Directory.CreateDirectory(HomeDirectory);
    }

    public string WorkingDirectory { get; } = Path.Combine(Path.GetTempPath(), "d8-cli-tests", Guid.NewGuid().ToString("N"), "work");
    public string HomeDirectory => Path.Combine(Path.GetDirectoryName(WorkingDirectory)!, "home");
    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);
    public ISystemProbe System { get; set; } = new FakeSystem();
    public TimeProvider Time { get; set; } = TimeProvider.System;
    /// <summary>Run as on a terminal (live displays redraw) instead of redirected output.</summary>
    public bool Interactive { get; set; }

    public string PathOf(string name) => Path.Combine(WorkingDirectory, name);

    /// <summary>Runs one command line; fails the test if it takes over 120 s.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, CancellationToken.None);

    /// <summary>Runs one command line until it ends or <paramref name="stop"/> fires (Ctrl+C).</summary>
    public Task<CliResult> RunAsync(string[] args, CancellationToken stop) => RunAsync(args, stop, onOutput: null);

    /// <summary>As above; <paramref name="onOutput"/> sees all standard output so far after each write, while the command runs.</summary>
    public async Task<CliResult> RunAsync(string[] args, CancellationToken stop, Action<string>? onOutput)
    {
        var output = new ObservedWriter(onOutput);
        var error = new StringWriter();
        var env = new CliEnvironment
        {
            Variables = Variables,
            WorkingDirectory = WorkingDirectory,
            HomeDirectory = HomeDirectory,
            Interactive = Interactive,
            Ansi = false,
            Width = 400,
            Time = Time,
            System = System,
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(120));
        var code = await CliApp.RunAsync(args, output, error, env, timeout.Token);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        try { Directory.Delete(Path.GetDirectoryName(WorkingDirectory)!, recursive: true); } catch (IOException) { /* best effort */ }
    }
}

/// <summary>A StringWriter that reports its whole text after each write (lets a test wait on a render, not on time).</summary>
internal sealed class ObservedWriter(Action<string>? onWrite) : StringWriter
{
    public override void Write(char value) { base.Write(value); Report(); }
    public override void Write(string? value) { base.Write(value); Report(); }
    public override void Write(char[] buffer, int index, int count) { base.Write(buffer, index, count); Report(); }

    private void Report()
    {
        if (onWrite is not null) onWrite(ToString());
    }
}

/// <summary>A machine whose docker, memory, disk and CPU answers each test chooses; defaults are a healthy arm64 Pi with 8 GB.</summary>
public sealed class FakeSystem : ISystemProbe, ICommandRunner, IMemoryReader, IDiskReader
{
    public ICommandRunner Commands => this;
    public IMemoryReader Memory => this;
    public IDiskReader Disk => this;
    public Architecture Architecture { get; set; } = Architecture.Arm64;

    public CommandResult DockerInfo { get; set; } = new(0, "27.3.1", "");
    public CommandResult ComposeVersion { get; set; } = new(0, "2.29.7", "");
    /// <summary>`docker info --format {{.Architecture}}|{{.MemoryLimit}}`.</summary>
    public CommandResult DockerPlatform { get; set; } = new(0, "aarch64|true", "");
    /// <summary>`docker-compose version --short` (Debian's 1.29.2); not installed by default.</summary>
    public CommandResult StandaloneCompose { get; set; } = new(-1, "", "docker-compose not found", NotFound: true);
    public MemoryInfo MemoryInfo { get; set; } = new(8L << 30, 6L << 30);
    public long? FreeDisk { get; set; } = 50L << 30;

    public Task<CommandResult> RunAsync(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct) =>
        Task.FromResult(program == "docker" && args.Count > 0 && args[0] == "compose" ? ComposeVersion
            : program == "docker-compose" ? StandaloneCompose
            : program == "docker" && args.Count > 2 && args[0] == "info" && args[2].Contains("MemoryLimit", StringComparison.Ordinal) ? DockerPlatform
            : program == "docker" && args.Count > 0 && args[0] == "info" ? DockerInfo
            : new CommandResult(-1, "", program + " not found", NotFound: true));

    public MemoryInfo Read() => MemoryInfo;
    public long? FreeBytes(string path) => FreeDisk;
}
