namespace D8.Cli.Doctor.Probes;

/// <summary>Uses <see cref="DriveInfo"/> on the mount that holds the path (the longest mount-point prefix).</summary>
public sealed class DriveInfoDiskReader : IDiskReader
{
    public long? FreeBytes(string path)
    {
        var full = Path.GetFullPath(path);
        while (!Directory.Exists(full))
        {
            var parent = Path.GetDirectoryName(full);
            if (parent is null) return null;
            full = parent;
        }
        var drive = DriveInfo.GetDrives()
            .Where(d => d.IsReady && full.StartsWith(d.RootDirectory.FullName, StringComparison.Ordinal))
            .MaxBy(d => d.RootDirectory.FullName.Length);
        return drive?.AvailableFreeSpace;
    }
}
