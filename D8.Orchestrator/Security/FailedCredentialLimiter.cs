using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace D8.Orchestrator.Security;

/// <summary>D8_AUTH_FAILURE_LIMIT failed credentials per client address within D8_AUTH_FAILURE_WINDOW_SECONDS (0: no limit).</summary>
public sealed record FailureLimitOptions(int Limit, TimeSpan Window)
{
    public static FailureLimitOptions Load(IConfiguration config, ICollection<string> errors)
    {
        var limit = Read(config, "D8_AUTH_FAILURE_LIMIT", 20, 0, 1_000_000, errors);
        var window = Read(config, "D8_AUTH_FAILURE_WINDOW_SECONDS", 60, 1, 86_400, errors);
        return new FailureLimitOptions(limit, TimeSpan.FromSeconds(window));
    }

    private static int Read(IConfiguration config, string key, int fallback, int min, int max, ICollection<string> errors)
    {
        var raw = config[key];
        if (string.IsNullOrWhiteSpace(raw)) return fallback;
        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max) return value;
        errors.Add($"{key}='{raw}' must be a whole number between {min} and {max}.");
        return fallback;
    }
}

/// <summary>
/// Counts failed credentials (a wrong API key, join token or worker token) per client address (IPv6: per /64) in fixed windows. Once an
/// address reaches the limit, every credential it presents is refused with 429 until its window ends, right or wrong,
/// so guessing cannot go faster than the limit. Successes are not counted: a worker that authenticates is never slowed.
/// Logs one line per address per window, with the address only (the presented secrets are never seen here).
/// </summary>
public sealed partial class FailedCredentialLimiter(FailureLimitOptions options, TimeProvider time, ILogger<FailedCredentialLimiter> log)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Window> _windows = new();

    /// <summary>How long <paramref name="address"/> must wait before presenting a credential again; null when it may now.</summary>
    public TimeSpan? Blocked(IPAddress? address)
    {
        if (options.Limit == 0 || address is null || !_windows.TryGetValue(Normalize(address), out var window)) return null;
        var now = time.GetUtcNow();
        lock (window)
        {
            var end = window.Start + options.Window;
            return window.Failures >= options.Limit && now < end ? end - now : null;
        }
    }

    /// <summary>Counts one failed credential from <paramref name="address"/>.</summary>
    public void RecordFailure(IPAddress? address)
    {
        if (options.Limit == 0 || address is null) return;
        address = Normalize(address);
        var now = time.GetUtcNow();
        if (_windows.Count > PruneAbove) Prune(now);
        var window = _windows.GetOrAdd(address, _ => new Window(now));
        bool reached;
        lock (window)
        {
            if (now >= window.Start + options.Window)
            {
                window.Start = now;
                window.Failures = 0;
            }
            window.Failures++;
            reached = window.Failures == options.Limit;
        }
        if (reached)
        {
            LogLimited(address.ToString(), options.Limit, options.Window.TotalSeconds);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, window) in _windows)
        {
            lock (window)
            {
                if (now >= window.Start + options.Window) _windows.TryRemove(address, out _);
            }
        }
    }

    /// <summary>
    /// IPv4 as is; IPv6 by its /64 prefix, because one host on a LAN can take any number of addresses in its /64
    /// (SLAAC privacy addresses) and would otherwise get a fresh window with each.
    /// </summary>
    internal static IPAddress Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(address)) return address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Failures;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Address} presented {Limit} wrong credentials within {Window}s: its credentials are refused (429) until the window ends")]
    private partial void LogLimited(string address, int limit, double window);
}
