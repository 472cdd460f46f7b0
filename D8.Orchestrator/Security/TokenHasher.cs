using System.Security.Cryptography;
using System.Text;

namespace D8.Orchestrator.Security;

/// <summary>SHA-256 hashing and constant-time comparison of secrets (tokens, API keys).</summary>
public static class TokenHasher
{
    /// <summary>Base64 SHA-256 of the UTF-8 secret.</summary>
    public static string Hash(string secret) => Convert.ToBase64String(HashBytes(secret));

    public static byte[] HashBytes(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>True if <paramref name="secret"/> hashes to <paramref name="expectedHash"/> (compared in constant time).</summary>
    public static bool Matches(string secret, string expectedHash)
    {
        Span<byte> expected = stackalloc byte[32];
        return Convert.TryFromBase64String(expectedHash, expected, out var written) && written == 32
            && CryptographicOperations.FixedTimeEquals(HashBytes(secret), expected);
    }

    /// <summary>
    /// True if the secret matches any of the hashes. Every hash is compared, so timing does not reveal which one
    /// (or whether any) matched.
    /// </summary>
    public static bool MatchesAny(string secret, IReadOnlyList<byte[]> hashes)
    {
        var presented = HashBytes(secret);
        var match = false;
        foreach (var hash in hashes)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, hash);
        }
        return match;
    }
}
