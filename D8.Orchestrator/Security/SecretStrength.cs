namespace D8.Orchestrator.Security;

/// <summary>
/// A rough estimate of a secret's entropy, to refuse the obviously weak (<c>abc</c>, <c>changeme</c>) outside
/// Development: length × log2 of the alphabet its character classes span, and no more than length × log2 of its
/// distinct characters × 2 (so <c>aaaa…</c> does not pass for random). <c>openssl rand -hex 32</c> gives 256 bits.
/// </summary>
public static class SecretStrength
{
    /// <summary>Bits a join secret or API key must have outside Development.</summary>
    public const int MinimumBits = 128;

    /// <summary>How to make a good one, for the refusal line.</summary>
    public const string HowToMake = "make one with: openssl rand -hex 32";

    public static double EstimateBits(string secret)
    {
        if (secret.Length == 0) return 0;
        int pool = 0;
        if (secret.Any(char.IsAsciiLetterLower)) pool += 26;
        if (secret.Any(char.IsAsciiLetterUpper)) pool += 26;
        if (secret.Any(char.IsAsciiDigit)) pool += 10;
        if (secret.Any(c => !char.IsAsciiLetterOrDigit(c))) pool += 33;
        // Only hex digits: 16 symbols, whatever the classes say.
        if (secret.All(char.IsAsciiHexDigit)) pool = 16;
        var distinct = secret.Distinct().Count();
        var perChar = Math.Min(Math.Log2(Math.Max(pool, 2)), Math.Log2(Math.Max(distinct, 2)) + 1);
        return secret.Length * perChar;
    }

    /// <summary>Null when strong enough; else one line naming the key, the estimate and the fix (never the secret).</summary>
    public static string? Weakness(string key, string secret)
    {
        var bits = EstimateBits(secret);
        return bits >= MinimumBits ? null
            : $"{key} is too weak (about {bits:0} bits of entropy, at least {MinimumBits} needed): {HowToMake}.";
    }
}
