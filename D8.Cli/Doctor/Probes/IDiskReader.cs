namespace D8.Cli.Doctor.Probes;

/// <summary>Free space of the file system holding a path, in bytes; null when unknown.</summary>
public interface IDiskReader
{
    long? FreeBytes(string path);
}
