using System.Globalization;
using System.Text.RegularExpressions;

namespace D8.Worker.Execution;

/// <summary>Reads a provider's wait hint: <c>retry-after</c> (seconds or HTTP date) or Groq's <c>x-ratelimit-reset-*</c> Go durations.</summary>
public static partial class RetryAfterParser
{
    /// <summary>The wait the headers ask for, or null when they name none.</summary>
    public static TimeSpan? FromHeaders(Func<string, string?> header, DateTimeOffset now)
    {
        if (header("retry-after") is { } retryAfter && ParseRetryAfter(retryAfter, now) is { } wait)
        {
            return wait;
        }
        // Without retry-after, wait for the later of the two windows to reset.
        TimeSpan? longest = null;
        foreach (var name in (string[])["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"])
        {
            if (header(name) is { } text && ParseGoDuration(text) is { } d && (longest is null || d > longest))
            {
                longest = d;
            }
        }
        return longest;
    }

    /// <summary>Seconds (possibly fractional) or an HTTP date.</summary>
    public static TimeSpan? ParseRetryAfter(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            var wait = at - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return ParseGoDuration(text);
    }

    /// <summary>Go's time.Duration text: <c>59.93s</c>, <c>1m0s</c>, <c>2h3m4.5s</c>, <c>120ms</c>.</summary>
    public static TimeSpan? ParseGoDuration(string text)
    {
        var matches = GoPart().Matches(text.Trim());
        if (matches.Count == 0 || matches.Sum(m => m.Length) != text.Trim().Length) return null;
        double ms = 0;
        foreach (Match m in matches)
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ms += m.Groups[2].Value switch
            {
                "h" => value * 3_600_000,
                "m" => value * 60_000,
                "s" => value * 1000,
                "ms" => value,
                "us" or "µs" => value / 1000,
                _ => value / 1_000_000,
            };
        }
        return TimeSpan.FromMilliseconds(ms);
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")]
    private static partial Regex GoPart();
}
