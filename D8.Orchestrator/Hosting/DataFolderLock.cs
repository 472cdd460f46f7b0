namespace D8.Orchestrator.Hosting;

/// <summary>
/// The orchestrator's hold on its data folder, taken before anything else is written there: the folder must be
/// writable, and only one orchestrator may use a database file at a time (two would each hand out the same tasks).
/// The hold is an OS lock on `&lt;database&gt;.lock` (flock), which the kernel releases however the process ends, so a
/// killed orchestrator never leaves a stale lock behind. Both refusals are a <see cref="StartupFailure.Refusal"/>: one line.
/// </summary>
internal sealed class DataFolderLock : IDisposable
{

    private readonly FileStream _lock;

    private DataFolderLock(FileStream held) => _lock = held;

    /// <summary>Checks the folder of <paramref name="dbPath"/> is writable and locks the database for this process.</summary>
    public static DataFolderLock Acquire(string dbPath)
    {
        var database = Path.GetFullPath(dbPath);
        var folder = Path.GetDirectoryName(database)!;
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".d8-write-check-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw StartupFailure.Refusal(
                $"the data folder {folder} is not writable ({e.Message.TrimEnd('.')}): give the user this orchestrator runs as " +
                "write access to it, or set D8_DB_PATH to a file in a folder it may write.", e);
        }
        var lockFile = database + ".lock";
        try
        {
            // FileShare.None is an exclusive, non-blocking flock on Linux and macOS, a sharing lock on Windows.
            return new DataFolderLock(new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (HeldElsewhere(e))
        {
            throw StartupFailure.Refusal(
                $"the database {database} is in use by another orchestrator (it holds {lockFile}): stop that one first, " +
                "or give this one its own D8_DB_PATH.", e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw StartupFailure.Refusal($"cannot open {lockFile} ({e.Message.TrimEnd('.')}): set D8_DB_PATH to a file in a folder this orchestrator may write.", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();

    /// <summary>The lock is held by another process: EWOULDBLOCK from flock (Linux 11, macOS 35), or a Windows sharing violation.</summary>
    private static bool HeldElsewhere(IOException e) => e.HResult is 11 or 35 || (e.HResult & 0xFFFF) == 32;
}
