using System.Security.Cryptography;
using System.Text;
using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// What the engine does not take on a registered worker's word: a worker holds at most a bounded share of
/// speculative copies, an operator can revoke a worker's token, and with D8_REVOKE_ON_JOIN_ROTATION a new join token
/// revokes every worker token issued under the one before. (Speeds come from observed runs: Placement/ObservedRun.cs.)
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>A worker holds at most this share of its slots as speculative copies (at least one).</summary>
    public const int CopySlotsDivisor = 4;

    /// <summary>Identifies the join secret workers registered under (a hash of a hash: the secret is not recoverable from it).</summary>
    private string JoinEpoch => _joinEpoch ??= Convert.ToHexStringLower(
        SHA256.HashData(Encoding.UTF8.GetBytes("d8-join-epoch:" + Contracts.Trust.JoinToken.SecretOf(_options.JoinToken))))[..16];

    private string? _joinEpoch;

    /// <summary>True while <paramref name="worker"/> may take one more speculative copy: at most a quarter of its slots (at least one).</summary>
    private bool MayTakeCopy(WorkerRecord worker)
    {
        var held = 0;
        foreach (var id in worker.Leases)
        {
            if (_tasks.TryGet(id, out var task) && task.SpecLeasedBy == worker.Id) held++;
        }
        return held < Math.Max(1, worker.MaxConcurrency / CopySlotsDivisor);
    }

    /// <summary>
    /// An operator turns a worker away (DELETE /api/workers/{id} with the API key): its token stops working at once,
    /// its leases go back to the queue without using attempts. It may register again with the join token; rotate that
    /// (with D8_REVOKE_ON_JOIN_ROTATION) to keep it out.
    /// </summary>
    public async Task RevokeAsync(string workerId)
    {
        Task commit;
        lock (_gate)
        {
            var worker = RequireWorker(workerId);
            if (worker.State == WorkerState.Gone && worker.Revoked) return;
            Leave(worker, Now);
            worker.Revoked = true;
            _speeds.Forget(worker.Id);
            _speedIndex.Remove(worker);
            _changes.Worker(worker);
            RecomputeRoutability();
            commit = Flush();
            LogRevoked(worker.Id, worker.Name);
        }
        await commit.ConfigureAwait(false);
    }

    /// <summary>Start-up with D8_REVOKE_ON_JOIN_ROTATION: workers registered under another join secret are revoked.</summary>
    private void RevokeRotatedWorkers()
    {
        if (!_options.RevokeWorkersOnJoinRotation) return;
        var now = Now;
        var revoked = 0;
        foreach (var worker in _workers.Values)
        {
            if (worker.State == WorkerState.Gone || worker.JoinEpoch == JoinEpoch) continue;
            Leave(worker, now);
            worker.Revoked = true;
            _changes.Worker(worker);
            revoked++;
        }
        if (revoked > 0) LogRotationRevoked(revoked);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {WorkerId} ({Name}) revoked by an operator: its token no longer works and its leases went back to the queue")]
    private partial void LogRevoked(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The join token changed and D8_REVOKE_ON_JOIN_ROTATION is on: revoked {Count} workers registered with the old one (they must register again with the new token)")]
    private partial void LogRotationRevoked(int count);
}
