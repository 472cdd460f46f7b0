using System.Runtime.InteropServices;

namespace D8.Cli.Doctor.Probes;

/// <summary>The machine facts setup and doctor look at, each behind its own small interface so tests can change one.</summary>
public interface ISystemProbe
{
    ICommandRunner Commands { get; }
    IMemoryReader Memory { get; }
    IDiskReader Disk { get; }
    Architecture Architecture { get; }
}

/// <summary>The real machine.</summary>
public sealed class RealSystemProbe : ISystemProbe
{
    public ICommandRunner Commands { get; init; } = new ProcessCommandRunner();
    public IMemoryReader Memory { get; init; } = new ProcMemInfoReader();
    public IDiskReader Disk { get; init; } = new DriveInfoDiskReader();
    public Architecture Architecture { get; init; } = RuntimeInformation.OSArchitecture;
}
