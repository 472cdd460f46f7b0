using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace D8.Orchestrator.Security;

/// <summary>D8_AUTH_FAILURE_LIMIT failed credentials per client address within D8_AUTH_FAILURE_WINDOW_SECONDS (0: no limit).</summary>
public sealed record FailureLimitOptions(int Limit, TimeSpan Window)
{
    /// <summary>Most addresses tracked at once; past it, new failing addresses share one window (memory stays bounded).</summary>
    public int MaxEntries { get; init; } = 50_000;

    /// <summary>Reads <c>D8_AUTH_FAILURE_*</c>; a bad value is refused through <paramref name="settings"/>.</summary>
    public static FailureLimitOptions Load(SettingsReader settings) => new(
        (int)settings.Whole("D8_AUTH_FAILURE_LIMIT", 20, 0, 1_000_000),
        TimeSpan.FromSeconds(settings.Whole("D8_AUTH_FAILURE_WINDOW_SECONDS", 60, 1, 86_400)));
}

/// <summary>
/// Counts failed guessable credentials (API keys, the join secret) per scheme and client address in fixed windows. Once
/// an address reaches the limit for a scheme, every credential of that scheme it presents is refused with 429 until the
/// window ends, right or wrong, so guessing cannot go faster than the limit. Worker tokens (256 random bits, not
/// guessable) are never counted nor refused, so a guesser can never make a registered worker's heartbeats, leases or
/// reports fail. Addresses: IPv4 as is; IPv6 in the orchestrator's own on-link prefixes (fe80::/64, the LAN's /64) as
/// the full /128, so one phone on the Wi-Fi does not block its neighbours; other IPv6 by /64 (one remote host may use
/// its whole /64). Expired windows are pruned on a timer; at most <see cref="FailureLimitOptions.MaxEntries"/> are kept.
/// </summary>
public sealed partial class FailedCredentialLimiter : IDisposable
{
    private static readonly IPAddress Overflow = IPAddress.IPv6None;
    private readonly FailureLimitOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<FailedCredentialLimiter> _log;
    private readonly ConcurrentDictionary<(string Scheme, IPAddress Address), Window> _windows = new();
    private readonly ITimer _pruner;
    private readonly bool _fixedPrefixes;
    private volatile IReadOnlyList<IPNetwork> _onLink;

    /// <param name="onLink">On-link prefixes (tests); null reads the host's interfaces, again at each prune.</param>
    public FailedCredentialLimiter(FailureLimitOptions options, TimeProvider time, ILogger<FailedCredentialLimiter> log,
        IReadOnlyList<IPNetwork>? onLink = null)
    {
        _options = options;
        _time = time;
        _log = log;
        _fixedPrefixes = onLink is not null;
        _onLink = onLink ?? OnLinkPrefixes.Read();
        var every = TimeSpan.FromSeconds(Math.Clamp(options.Window.TotalSeconds, 1, 60));
        _pruner = time.CreateTimer(_ => Prune(), null, every, every);
    }

    /// <summary>Windows held now (for tests and the memory bound).</summary>
    public int Count => _windows.Count;

    /// <summary>True when failures of <paramref name="scheme"/> are counted (API key, join token; never worker tokens).</summary>
    public static bool Counts(string scheme) => scheme != AuthSchemes.WorkerToken;

    /// <summary>How long <paramref name="address"/> must wait before presenting a <paramref name="scheme"/> credential again; null when it may now.</summary>
    public TimeSpan? Blocked(string scheme, IPAddress? address)
    {
        if (_options.Limit == 0 || address is null || !Counts(scheme)) return null;
        var key = (scheme, Normalize(address));
        if (!_windows.TryGetValue(key, out var window) && !_windows.TryGetValue((scheme, Overflow), out window)) return null;
        var now = _time.GetUtcNow();
        lock (window)
        {
            var end = window.Start + _options.Window;
            return window.Failures >= _options.Limit && now < end ? end - now : null;
        }
    }

    /// <summary>Counts one failed <paramref name="scheme"/> credential from <paramref name="address"/>.</summary>
    public void RecordFailure(string scheme, IPAddress? address)
    {
        if (_options.Limit == 0 || address is null || !Counts(scheme)) return;
        var normalized = Normalize(address);
        var now = _time.GetUtcNow();
        var key = (scheme, normalized);
        if (!_windows.TryGetValue(key, out var window))
        {
            // Past the bound, new addresses share one window: guessing from very many addresses is still limited.
            if (_windows.Count >= _options.MaxEntries) key = (scheme, Overflow);
            window = _windows.GetOrAdd(key, _ => new Window(now));
        }
        bool reached;
        lock (window)
        {
            if (now >= window.Start + _options.Window)
            {
                window.Start = now;
                window.Failures = 0;
            }
            window.Failures++;
            reached = window.Failures == _options.Limit;
        }
        if (reached)
        {
            LogLimited(key.Item2 == Overflow ? "(many addresses)" : key.Item2.ToString(), scheme, _options.Limit, _options.Window.TotalSeconds);
        }
    }

    /// <summary>Drops windows that ended; refreshes the on-link prefixes (addresses on a home network change).</summary>
    internal void Prune()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, window) in _windows)
        {
            lock (window)
            {
                if (now >= window.Start + _options.Window) _windows.TryRemove(key, out _);
            }
        }
        if (!_fixedPrefixes) _onLink = OnLinkPrefixes.Read();
    }

    /// <summary>IPv4 as is; IPv6 on-link as the full address; other IPv6 by its /64 prefix.</summary>
    internal IPAddress Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || IPAddress.IsLoopback(address)) return address;
        address = address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes()) : address;
        foreach (var prefix in _onLink)
        {
            if (prefix.Contains(address)) return address;
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    public void Dispose() => _pruner.Dispose();

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Failures;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Address} presented {Limit} wrong credentials ({Scheme}) within {Window}s: its credentials of that kind are refused (429) until the window ends")]
    private partial void LogLimited(string address, string scheme, int limit, double window);
}
