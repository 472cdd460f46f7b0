using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The one way a D8 service reads its flat <c>D8_*</c> keys (environment variables or <c>--D8_X=</c> arguments). Every
/// options type has the same shape: <c>static T Load(SettingsReader settings, …)</c> reads through these methods and
/// never throws; a bad value adds one sentence naming the key, the value and what it must be, and the default is used
/// so the other keys are still checked. Once every loader has run, <see cref="ThrowIfInvalid"/> refuses the start with
/// one line naming every bad key — <c>invalid configuration: …</c> — which <see cref="StartupFailure"/> prints with exit
/// code 2. No value is read twice and no secret is ever put in a message.
/// </summary>
public sealed class SettingsReader(IConfiguration configuration)
{
    /// <summary>What every configuration refusal starts with (after the process name).</summary>
    public const string Prefix = "invalid configuration: ";

    private readonly List<string> _errors = [];

    public IConfiguration Configuration => configuration;

    /// <summary>One sentence per bad key, in the order they were read.</summary>
    public IReadOnlyList<string> Errors => _errors;

    public bool IsValid => _errors.Count == 0;

    /// <summary>Reads, validates and refuses in one call: for a loader used on its own (a command, a test).</summary>
    public static T Load<T>(IConfiguration configuration, Func<SettingsReader, T> load)
    {
        var settings = new SettingsReader(configuration);
        var value = load(settings);
        settings.ThrowIfInvalid();
        return value;
    }

    /// <summary>The value trimmed, or null when the key is unset or blank (a blank value means "use the default").</summary>
    public string? Text(string key) => configuration[key] is { } raw && !string.IsNullOrWhiteSpace(raw) ? raw.Trim() : null;

    /// <summary>Records a problem the typed readers cannot see (a missing secret, two keys that disagree).</summary>
    public void Refuse(string sentence) => _errors.Add(sentence);

    /// <summary>A number from <paramref name="min"/> to <paramref name="max"/>; <paramref name="unit"/> ("seconds") names what it counts.</summary>
    public double Number(string key, double fallback, double min, double max, string? unit = null)
    {
        var raw = Text(key);
        if (raw is null) return fallback;
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && !double.IsNaN(value)
            && value >= min && value <= max)
        {
            return value;
        }
        var what = unit is null ? "a number" : "a number of " + unit;
        _errors.Add($"{key}='{raw}' must be {what} between {Invariant(min)} and {Invariant(max)}.");
        return fallback;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public long Whole(string key, long fallback, long min, long max)
    {
        var raw = Text(key);
        if (raw is null) return fallback;
        if (long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        _errors.Add($"{key}='{raw}' must be a whole number from {Invariant(min)} to {Invariant(max)}.");
        return fallback;
    }

    /// <summary>true / false (also 1 / 0, yes / no).</summary>
    public bool Flag(string key, bool fallback)
    {
        var raw = Text(key);
        if (raw is null) return fallback;
        if (bool.TryParse(raw, out var value)) return value;
        switch (raw.ToLowerInvariant())
        {
            case "1" or "yes": return true;
            case "0" or "no": return false;
            default:
                _errors.Add($"{key}='{raw}' must be true or false.");
                return fallback;
        }
    }

    /// <summary>Refuses the start, naming every bad key in one line, when any loader found one.</summary>
    public void ThrowIfInvalid()
    {
        if (_errors.Count > 0)
        {
            throw StartupFailure.Refusal(Prefix + string.Join(" ", _errors));
        }
    }

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
