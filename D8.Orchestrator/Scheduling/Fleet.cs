using System.Security.Cryptography;
using System.Text;
using D8.Contracts;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// A worker's membership of the fleet: registering (a restarted worker supersedes its old entry), heartbeats (liveness,
/// lease renewal, what to cancel, what it lost, whether to drain), draining, leaving, revocation (by an operator or a
/// join-token rotation), going offline when silent and being forgotten after D8_WORKER_FORGET_HOURS. Keeps the
/// <see cref="WorkerRegistry"/>; a leaving worker's leases go back through <see cref="TaskLifecycle"/>.
/// Runs under the engine's lock.
/// </summary>
internal sealed partial class Fleet
{
    private readonly EngineState _s;
    private readonly TaskLifecycle _lifecycle;
    private readonly ILogger _logger;
    private string? _joinEpoch;

    public Fleet(EngineState state, TaskLifecycle lifecycle, ILogger logger)
    {
        _s = state;
        _lifecycle = lifecycle;
        _logger = logger;
    }

    /// <summary>Identifies the join secret workers registered under (a hash of a hash: the secret is not recoverable from it).</summary>
    private string JoinEpoch => _joinEpoch ??= Convert.ToHexStringLower(
        SHA256.HashData(Encoding.UTF8.GetBytes("d8-join-epoch:" + Contracts.Trust.JoinToken.SecretOf(_s.Options.JoinToken))))[..16];

    /// <summary>
    /// Registers a worker and returns its token (only the token's hash is kept). A worker with the same name, provider,
    /// models, host info and remote <paramref name="address"/> as an existing entry is that worker restarted: it
    /// supersedes the old entry (whose leases go back without burning attempts, and whose counters it carries on).
    /// Registrations without host info or address (tests, tools) never supersede.
    /// </summary>
    public RegisterWorkerResponse Register(RegisterWorkerRequest request, string? address, DateTimeOffset now)
    {
        var (id, token, hash) = WorkerTokens.Issue();
        var worker = new WorkerRecord
        {
            Id = id,
            Name = request.Name,
            Provider = request.Provider.ToLowerInvariant(),
            Models = request.Models.ToArray(),
            TaskKinds = request.TaskKinds is { Count: > 0 } kinds ? kinds.ToArray() : ["chat"],
            MaxConcurrency = Math.Max(1, request.MaxConcurrency),
            Host = request.Host,
            Version = request.Version,
            Address = address,
            JoinEpoch = JoinEpoch,
            TokenHash = hash,
            State = WorkerState.Online,
            RegisteredAt = now,
            LastHeartbeat = now,
        };
        foreach (var old in _s.Workers.All.Where(w => IsSameWorker(w, worker)).ToList())
        {
            Supersede(old, worker, now);
        }
        _s.Workers.Add(worker);
        _s.Changes.Worker(worker);
        _s.Queues.RecomputeRoutability();
        // Tasks that were unroutable may now fit this worker; nothing waits for them, so no wake-up is needed.
        LogRegistered(worker.Id, worker.Name, worker.Provider, string.Join(',', worker.Models));
        return new RegisterWorkerResponse(id, token, _s.Options.HeartbeatInterval.TotalSeconds, _s.Options.LeaseDuration.TotalSeconds);
    }

    private static bool IsSameWorker(WorkerRecord old, WorkerRecord fresh) =>
        fresh.Address is not null && fresh.Host is not null
        && string.Equals(old.Address, fresh.Address, StringComparison.Ordinal)
        && string.Equals(old.Name, fresh.Name, StringComparison.Ordinal)
        && string.Equals(old.Provider, fresh.Provider, StringComparison.Ordinal)
        && Equals(old.Host, fresh.Host)
        && old.Models.SequenceEqual(fresh.Models, StringComparer.Ordinal);

    private void Supersede(WorkerRecord old, WorkerRecord successor, DateTimeOffset now)
    {
        successor.TasksSucceeded += old.TasksSucceeded;
        successor.TasksFailed += old.TasksFailed;
        Leave(old, now);
        Forget(old);
        LogSuperseded(old.Id, old.Name, successor.Id);
    }

    /// <summary>Liveness: renews every lease the worker holds and tells it what to cancel, what it lost, whether to drain.</summary>
    public HeartbeatResponse Heartbeat(WorkerRecord worker, HeartbeatRequest request, DateTimeOffset now)
    {
        var wasHealthy = worker.Healthy;
        Touch(worker, now);
        worker.InFlight = request.InFlight;
        worker.TokensPerSecond = request.TokensPerSecond;
        worker.Healthy = request.Healthy;
        worker.Status = request.Status;
        var wasWaitingForBudget = worker.BudgetReadyAt > now;
        _s.Workers.SetBudget(worker, request.Budget);
        worker.BudgetReadyAt = request.BudgetReadyAt > now ? request.BudgetReadyAt : null;

        var expires = now + _s.Options.LeaseDuration;
        var held = _s.Leases.Renew(worker, request.LeaseIds, now, expires, out var orphans);
        foreach (var orphan in orphans ?? [])
        {
            _lifecycle.TakeBack(orphan, now, $"worker '{worker.Id}' no longer holds the lease (not in its last {LeaseBook.OrphanBeats} heartbeats)");
            _s.Changes.Task(orphan);
        }
        var lost = new List<string>(worker.LostLeases);
        foreach (var leaseId in request.LeaseIds ?? [])
        {
            if (!held.Contains(leaseId) && !lost.Contains(leaseId))
            {
                lost.Add(leaseId);
            }
        }
        var response = new HeartbeatResponse
        {
            CancelTaskIds = worker.PendingCancels.ToArray(),
            LostLeases = lost,
            Drain = worker.Drain,
            LeaseExpiresAt = expires,
            CooldownUntil = worker.CooldownUntil > now ? worker.CooldownUntil : null,
        };
        worker.PendingCancels.Clear();
        worker.LostLeases.Clear();
        _s.Changes.Worker(worker);
        if ((!wasHealthy && worker.Healthy) || (wasWaitingForBudget && worker.BudgetReadyAt is null))
        {
            _s.Leases.WakeParkedOf(worker);
        }
        return response;
    }

    /// <summary>Marks a worker alive; an offline worker that speaks again is back.</summary>
    public void Touch(WorkerRecord worker, DateTimeOffset now)
    {
        worker.LastHeartbeat = now;
        if (worker.State == WorkerState.Offline)
        {
            worker.State = worker.Drain ? WorkerState.Draining : WorkerState.Online;
            _s.Changes.Worker(worker);
        }
    }

    /// <summary>Graceful leave: the worker's leases go back to the queue at once, without burning attempts.</summary>
    public void Deregister(WorkerRecord worker, DateTimeOffset now)
    {
        Leave(worker, now);
        _s.Changes.Worker(worker);
        _s.Queues.RecomputeRoutability();
        LogDeregistered(worker.Id, worker.Name);
    }

    /// <summary>Marks a worker gone and puts its leases back without burning attempts (a copy it held just ends).</summary>
    private void Leave(WorkerRecord worker, DateTimeOffset now)
    {
        _s.Workers.MarkGone(worker);
        foreach (var taskId in worker.Leases.ToArray())
        {
            _s.Tasks.TryGet(taskId, out var task);
            if (task.SpecLeasedBy == worker.Id)
            {
                _s.Leases.DropCopy(task, tellHolder: false);
            }
            else if (task.SpecLeaseId is not null)
            {
                _s.Leases.PromoteCopy(task, now, tellLoser: false, copyWon: false);
            }
            else
            {
                _lifecycle.TakeBack(task, now, $"worker '{worker.Id}' left the fleet");
            }
        }
        _s.Leases.WakeParkedOf(worker);
    }

    /// <summary>Removes a worker from the fleet view and the store (superseded, or offline or gone for too long).</summary>
    private void Forget(WorkerRecord worker)
    {
        _s.Workers.Remove(worker);
        _s.Speeds.Forget(worker);
        _s.Changes.ForgetWorker(worker.Id);
    }

    /// <summary>Asks a worker to drain: no new leases; the heartbeat answer says drain.</summary>
    public void Drain(WorkerRecord worker)
    {
        if (worker.State == WorkerState.Gone)
        {
            throw EngineException.Conflict($"Worker '{worker.Id}' has left the fleet.");
        }
        worker.Drain = true;
        if (worker.State == WorkerState.Online)
        {
            worker.State = WorkerState.Draining;
        }
        _s.Changes.Worker(worker);
    }

    /// <summary>
    /// An operator turns a worker away: its token stops working at once, its leases go back to the queue without
    /// using attempts. It may register again with the join token; rotate that (with D8_REVOKE_ON_JOIN_ROTATION) to keep it out.
    /// </summary>
    public void Revoke(WorkerRecord worker, DateTimeOffset now)
    {
        Leave(worker, now);
        worker.Revoked = true;
        _s.Speeds.Forget(worker);
        _s.Changes.Worker(worker);
        _s.Queues.RecomputeRoutability();
        LogRevoked(worker.Id, worker.Name);
    }

    /// <summary>Start-up with D8_REVOKE_ON_JOIN_ROTATION: workers registered under another join secret are revoked.</summary>
    public void RevokeRotated(DateTimeOffset now)
    {
        if (!_s.Options.RevokeWorkersOnJoinRotation) return;
        var revoked = 0;
        foreach (var worker in _s.Workers.All)
        {
            if (worker.State == WorkerState.Gone || worker.JoinEpoch == JoinEpoch) continue;
            Leave(worker, now);
            worker.Revoked = true;
            _s.Changes.Worker(worker);
            revoked++;
        }
        if (revoked > 0) LogRotationRevoked(revoked);
    }

    /// <summary>The sweep: silent workers go offline; workers offline or gone for too long leave the fleet view.</summary>
    public void Sweep(DateTimeOffset now)
    {
        foreach (var worker in _s.Workers.All)
        {
            if (worker.State is WorkerState.Online or WorkerState.Draining && now - worker.LastHeartbeat > _s.Options.OfflineAfter)
            {
                worker.State = WorkerState.Offline;
                _s.Changes.Worker(worker);
                LogOffline(worker.Id, worker.Name);
            }
        }
        List<WorkerRecord>? absent = null;
        foreach (var worker in _s.Workers.All)
        {
            if (worker.State is WorkerState.Offline or WorkerState.Gone && worker.Leases.Count == 0
                && now - worker.LastHeartbeat > _s.Options.ForgetWorkersAfter)
            {
                (absent ??= []).Add(worker);
            }
        }
        foreach (var worker in absent ?? [])
        {
            Forget(worker);
            LogForgotten(worker.Id, worker.Name, WireNames.Of(worker.State));
        }
        if (absent is not null)
        {
            _s.Queues.RecomputeRoutability();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) registered: provider {Provider}, models {Models}")]
    private partial void LogRegistered(string workerId, string name, string provider, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) deregistered; its leases went back to the queue")]
    private partial void LogDeregistered(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) re-registered as {Successor}; the old entry is superseded")]
    private partial void LogSuperseded(string workerId, string name, string successor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {WorkerId} ({Name}) revoked by an operator: its token no longer works and its leases went back to the queue")]
    private partial void LogRevoked(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The join token changed and D8_REVOKE_ON_JOIN_ROTATION is on: revoked {Count} workers registered with the old one (they must register again with the new token)")]
    private partial void LogRotationRevoked(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {WorkerId} ({Name}) is offline: no heartbeat")]
    private partial void LogOffline(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) left the fleet view: {State} for longer than D8_WORKER_FORGET_HOURS")]
    private partial void LogForgotten(string workerId, string name, string state);
}
