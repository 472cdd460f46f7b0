using System.Globalization;

namespace D8.Cli.Doctor.Probes;

/// <summary>Reads MemTotal and MemAvailable from /proc/meminfo (Linux; the Pi's OS); elsewhere uses the GC's view.</summary>
public sealed class ProcMemInfoReader(string path = "/proc/meminfo") : IMemoryReader
{
    public MemoryInfo Read()
    {
        if (!File.Exists(path))
        {
            var gc = GC.GetGCMemoryInfo();
            return new MemoryInfo(gc.TotalAvailableMemoryBytes > 0 ? gc.TotalAvailableMemoryBytes : null, null);
        }
        return Parse(File.ReadAllText(path));
    }

    /// <summary>Parses meminfo text ("MemTotal:  3884476 kB").</summary>
    public static MemoryInfo Parse(string text)
    {
        long? total = null, available = null;
        foreach (var line in text.Split('\n'))
        {
            var parts = line.Split(':', 2);
            if (parts.Length != 2) continue;
            var value = parts[1].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (value.Length == 0 || !long.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n)) continue;
            var bytes = value.Length > 1 && value[1].Equals("kB", StringComparison.OrdinalIgnoreCase) ? n * 1024 : n;
            if (parts[0] == "MemTotal") total = bytes;
            else if (parts[0] == "MemAvailable") available = bytes;
        }
        return new MemoryInfo(total, available);
    }
}
