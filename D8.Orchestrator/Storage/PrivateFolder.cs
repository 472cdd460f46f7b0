namespace D8.Orchestrator.Storage;

/// <summary>
/// The data folder and the TLS folder hold the queue's prompts and the keys: created readable by their owner only
/// (0700 on Linux and macOS), and existing secret files with looser modes are reported at start-up.
/// </summary>
public static class PrivateFolder
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) with mode 0700; an existing folder keeps its mode.</summary>
    public static void Create(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, OwnerOnly);
    }

    /// <summary>One warning line when <paramref name="file"/> exists and others than its owner may read or change it.</summary>
    public static string? LooseModeWarning(string file)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(file)) return null;
        var mode = File.GetUnixFileMode(file);
        return (mode & GroupOrOther) == 0 ? null
            : $"{file} is readable or writable by others than its owner (mode {System.Convert.ToString((int)mode, 8)}): run chmod 600 {file}";
    }
}
