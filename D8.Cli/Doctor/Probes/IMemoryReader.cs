namespace D8.Cli.Doctor.Probes;

/// <summary>Total and available memory in bytes; null when it cannot be read.</summary>
public sealed record MemoryInfo(long? TotalBytes, long? AvailableBytes);

/// <summary>Reads the machine's memory.</summary>
public interface IMemoryReader
{
    MemoryInfo Read();
}
