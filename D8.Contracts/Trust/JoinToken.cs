using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace D8.Contracts.Trust;

/// <summary>
/// A join token: <c>D8J1-&lt;pin&gt;::&lt;secret&gt;</c>, where the pin is the SHA-256 (64 lower-case hex digits) of the
/// orchestrator CA's DER certificate, as k3s's <c>K10&lt;hash&gt;::…</c>. A worker checks the orchestrator's certificate
/// against the pin before it sends the secret. A bare secret (no prefix) carries no pin: it is accepted for plain HTTP
/// on loopback and for an orchestrator with a certificate the system already trusts.
/// </summary>
public sealed record JoinToken(string? Pin, string Secret)
{
    /// <summary>Prefix of a pinned token (format version 1).</summary>
    public const string Prefix = "D8J1-";

    private const string Separator = "::";

    /// <summary>True when the token carries a CA fingerprint.</summary>
    [MemberNotNullWhen(true, nameof(Pin))]
    public bool IsPinned => Pin is not null;

    /// <summary>The pinned form for <paramref name="pin"/> (hex SHA-256 of the CA's DER) and <paramref name="secret"/>.</summary>
    public static string Format(string pin, string secret) => $"{Prefix}{pin.ToLowerInvariant()}{Separator}{secret}";

    /// <summary>Parses a pinned token or a bare secret; false (with a one-line reason, never the secret) when malformed.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out JoinToken? token, out string error)
    {
        token = null;
        error = "";
        var value = text?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            error = "the join token is empty";
            return false;
        }
        if (!value.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            token = new JoinToken(null, value);
            return true;
        }
        var rest = value[Prefix.Length..];
        var split = rest.IndexOf(Separator, StringComparison.Ordinal);
        var pin = split < 0 ? rest : rest[..split];
        if (split < 0 || !IsPin(pin))
        {
            error = $"the join token starts with {Prefix} but is not {Prefix}<64 hex digits>::<secret> (copy it whole)";
            return false;
        }
        var secret = rest[(split + Separator.Length)..];
        if (secret.Length == 0)
        {
            error = "the join token has no secret after '::' (copy it whole)";
            return false;
        }
        token = new JoinToken(pin.ToLowerInvariant(), secret);
        return true;
    }

    /// <summary>The secret of a pinned token, or the text itself when it is a bare secret (or malformed).</summary>
    public static string SecretOf(string text) => TryParse(text, out var token, out _) ? token.Secret : text;

    /// <summary>True when <paramref name="text"/> is 64 hex digits.</summary>
    public static bool IsPin(string text) =>
        text.Length == 64 && text.All(c => char.IsAsciiHexDigit(c));

    /// <summary>A short form of a pin for messages: its first 16 hex digits.</summary>
    public static string Short(string pin) => pin.Length > 16 ? pin[..16].ToLower(CultureInfo.InvariantCulture) + "…" : pin;

    /// <summary>Never prints the secret.</summary>
    public override string ToString() => IsPinned ? $"{Prefix}{Pin}::(secret)" : "(secret)";
}
