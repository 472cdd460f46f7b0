using System.Security.Cryptography;
using D8.Orchestrator.Security;

namespace D8.Orchestrator.Scheduling;

/// <summary>Worker ids and tokens: a token is "&lt;worker id&gt;.&lt;32 random bytes, base64url&gt;"; only its hash is kept.</summary>
internal static class WorkerTokens
{
    public static (string Id, string Token, string Hash) Issue()
    {
        var id = NewId();
        var token = $"{id}.{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
        return (id, token, TokenHasher.Hash(token));
    }

    /// <summary>The worker id a token names, or null if it has no id part.</summary>
    public static string? IdOf(string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        return dot <= 0 ? null : token[..dot];
    }

    /// <summary>Time-ordered unique id (tasks, workers, leases).</summary>
    public static string NewId() => Guid.CreateVersion7().ToString("N");
}
