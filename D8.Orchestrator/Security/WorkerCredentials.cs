using System.Collections.Concurrent;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Security;

/// <summary>
/// The worker tokens that work right now: the token hash of every registered worker that has not left, been revoked
/// or been forgotten. The engine's <see cref="WorkerRegistry"/> keeps it current; <see cref="CredentialHandler"/> asks
/// it which worker a token belongs to without taking the engine's lock. Safe to use from any thread.
/// </summary>
public sealed class WorkerCredentials
{
    private readonly ConcurrentDictionary<string, string> _hashById = new(StringComparer.Ordinal);

    /// <summary>The worker a token belongs to, or null. Compares token hashes in constant time.</summary>
    public string? Authenticate(string token) =>
        WorkerTokens.IdOf(token) is { } id && _hashById.TryGetValue(id, out var hash) && TokenHasher.Matches(token, hash) ? id : null;

    /// <summary>The worker's token works (it registered, or was loaded at start-up not gone).</summary>
    internal void Allow(string workerId, string tokenHash) => _hashById[workerId] = tokenHash;

    /// <summary>The worker's token stops working (it left, was revoked or forgotten).</summary>
    internal void Refuse(string workerId) => _hashById.TryRemove(workerId, out _);
}
