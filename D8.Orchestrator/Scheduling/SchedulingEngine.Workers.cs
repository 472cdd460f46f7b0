using D8.Contracts;
using D8.Orchestrator.Security;

namespace D8.Orchestrator.Scheduling;

/// <summary>The worker protocol: register, authenticate, heartbeat, deregister, drain (leasing and reports are in
/// SchedulingEngine.Leases.cs).</summary>
public sealed partial class SchedulingEngine
{
    /// <summary>
    /// Registers a worker and returns its token (only the token's hash is kept). A worker with the same name, provider,
    /// models, host info and remote <paramref name="address"/> as an existing entry is that worker restarted: it
    /// supersedes the old entry (whose leases go back without burning attempts, and whose counters it carries on).
    /// Registrations without host info or address (tests, tools) never supersede.
    /// </summary>
    public async Task<RegisterWorkerResponse> RegisterAsync(RegisterWorkerRequest request, string? address = null)
    {
        Task commit;
        RegisterWorkerResponse response;
        lock (_gate)
        {
            var now = Now;
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
            foreach (var old in _workers.Values.Where(w => IsSameWorker(w, worker)).ToList())
            {
                Supersede(old, worker, now);
            }
            _workers.Add(id, worker);
            _tokenHashes[id] = hash;
            _changes.Worker(worker);
            RecomputeRoutability();
            // Tasks that were unroutable may now fit this worker; nothing waits for them, so no wake-up is needed.
            commit = Flush();
            response = new RegisterWorkerResponse(id, token, _options.HeartbeatInterval.TotalSeconds,
                _options.LeaseDuration.TotalSeconds);
            LogRegistered(worker.Id, worker.Name, worker.Provider, string.Join(',', worker.Models));
        }
        await commit.ConfigureAwait(false);
        return response;
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

    /// <summary>The worker a token belongs to, or null. Compares token hashes in constant time.</summary>
    public string? AuthenticateWorker(string token)
    {
        if (WorkerTokens.IdOf(token) is not { } id)
        {
            return null;
        }
        return _tokenHashes.TryGetValue(id, out var hash) && TokenHasher.Matches(token, hash) ? id : null;
    }

    /// <summary>Liveness: renews every lease the worker holds and tells it what to cancel, what it lost, whether to drain.</summary>
    public async Task<HeartbeatResponse> HeartbeatAsync(string workerId, HeartbeatRequest request)
    {
        Task commit;
        HeartbeatResponse response;
        lock (_gate)
        {
            var now = Now;
            var worker = RequireLiveWorker(workerId);
            var wasHealthy = worker.Healthy;
            Touch(worker, now);
            worker.InFlight = request.InFlight;
            worker.TokensPerSecond = request.TokensPerSecond;
            worker.Healthy = request.Healthy;
            worker.Status = request.Status;
            var wasWaitingForBudget = worker.BudgetReadyAt > now;
            worker.Budget = request.Budget ?? [];
            if (worker.Budget.Count > 0) _budgeted.Add(worker);
            else _budgeted.Remove(worker);
            worker.BudgetReadyAt = request.BudgetReadyAt > now ? request.BudgetReadyAt : null;

            var expires = now + _options.LeaseDuration;
            var held = new HashSet<string>(StringComparer.Ordinal);
            var listed = request.LeaseIds is { } ids ? new HashSet<string>(ids, StringComparer.Ordinal) : null;
            List<TaskRecord>? orphans = null;
            foreach (var taskId in worker.Leases)
            {
                _tasks.TryGet(taskId, out var task);
                if (task.SpecLeasedBy == worker.Id)
                {
                    task.SpecLeaseExpiresAt = expires;
                    held.Add(task.SpecLeaseId!);
                    continue;
                }
                if (task.SpecLeaseId is null && IsOrphan(task, listed, now))
                {
                    (orphans ??= []).Add(task);
                    continue;
                }
                task.LeaseExpiresAt = expires;
                held.Add(task.LeaseId!);
                _changes.Task(task);
            }
            foreach (var orphan in orphans ?? [])
            {
                TakeBack(orphan, now, $"worker '{worker.Id}' no longer holds the lease (not in its last {OrphanBeats} heartbeats)");
                _changes.Task(orphan);
            }
            var lost = new List<string>(worker.LostLeases);
            foreach (var leaseId in request.LeaseIds ?? [])
            {
                if (!held.Contains(leaseId) && !lost.Contains(leaseId))
                {
                    lost.Add(leaseId);
                }
            }
            response = new HeartbeatResponse
            {
                CancelTaskIds = worker.PendingCancels.ToArray(),
                LostLeases = lost,
                Drain = worker.Drain,
                LeaseExpiresAt = expires,
                CooldownUntil = worker.CooldownUntil > now ? worker.CooldownUntil : null,
            };
            worker.PendingCancels.Clear();
            worker.LostLeases.Clear();
            _changes.Worker(worker);
            if ((!wasHealthy && worker.Healthy) || (wasWaitingForBudget && worker.BudgetReadyAt is null))
            {
                WakeWaitersOf(worker);
            }
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return response;
    }

    /// <summary>Consecutive heartbeats that must leave a lease out (and heartbeat intervals since it was granted) before it is taken back.</summary>
    internal const int OrphanBeats = 3;

    /// <summary>
    /// A lease its holder no longer has: the worker lists the leases it holds in every heartbeat, and this one was left
    /// out of <see cref="OrphanBeats"/> heartbeats in a row, the first of them at least that many heartbeat intervals after
    /// it was granted (so a lease whose answer is still on its way to the worker is never mistaken for one). It happens
    /// when the lease answer never reached the worker (the orchestrator was killed after storing it) or the worker gave up
    /// reporting its result; without this, heartbeats would extend such a lease for ever and its task would never end.
    /// A worker that does not list its leases (null) keeps them all.
    /// </summary>
    private bool IsOrphan(TaskRecord task, HashSet<string>? listed, DateTimeOffset now)
    {
        if (listed is null || listed.Contains(task.LeaseId!))
        {
            task.UnlistedBeats = 0;
            return false;
        }
        if (task.LeasedAt is { } at && now - at < _options.HeartbeatInterval * OrphanBeats) return false;
        return ++task.UnlistedBeats >= OrphanBeats;
    }

    /// <summary>Graceful leave: the worker's leases go back to the queue at once, without burning attempts.</summary>
    public async Task DeregisterAsync(string workerId)
    {
        Task commit;
        lock (_gate)
        {
            var worker = RequireWorker(workerId);
            if (worker.State == WorkerState.Gone)
            {
                return;
            }
            Leave(worker, Now);
            _changes.Worker(worker);
            RecomputeRoutability();
            commit = Flush();
            LogDeregistered(worker.Id, worker.Name);
        }
        await commit.ConfigureAwait(false);
    }

    /// <summary>Marks a worker gone and puts its leases back without burning attempts.</summary>
    private void Leave(WorkerRecord worker, DateTimeOffset now)
    {
        worker.State = WorkerState.Gone;
        _tokenHashes.TryRemove(worker.Id, out _);
        foreach (var taskId in worker.Leases.ToArray())
        {
            _tasks.TryGet(taskId, out var task);
            if (task.SpecLeasedBy == worker.Id)
            {
                DropCopy(task, tellHolder: false);
            }
            else if (task.SpecLeaseId is not null)
            {
                PromoteCopy(task, now, tellLoser: false, copyWon: false);
            }
            else
            {
                TakeBack(task, now, $"worker '{worker.Id}' left the fleet");
            }
        }
        WakeWaitersOf(worker);
    }

    /// <summary>Removes a worker from the fleet view and the store (superseded, or offline or gone for too long).</summary>
    private void Forget(WorkerRecord worker)
    {
        worker.State = WorkerState.Gone;
        _workers.Remove(worker.Id);
        _tokenHashes.TryRemove(worker.Id, out _);
        _speeds.Forget(worker.Id);
        _speedIndex.Remove(worker);
        _budgeted.Remove(worker);
        _changes.ForgetWorker(worker.Id);
    }

    /// <summary>Asks a worker to drain: no new leases; the heartbeat answer says drain.</summary>
    public async Task<WorkerView> DrainAsync(string workerId)
    {
        Task commit;
        WorkerView view;
        lock (_gate)
        {
            var worker = RequireWorker(workerId);
            if (worker.State == WorkerState.Gone)
            {
                throw EngineException.Conflict($"Worker '{workerId}' has left the fleet.");
            }
            worker.Drain = true;
            if (worker.State == WorkerState.Online)
            {
                worker.State = WorkerState.Draining;
            }
            _changes.Worker(worker);
            view = TaskViews.Of(worker, SpeedsOf(worker));
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    private WorkerRecord RequireWorker(string id) =>
        _workers.TryGetValue(id, out var worker) ? worker : throw EngineException.NotFound("Worker", id);

    private WorkerRecord RequireLiveWorker(string id)
    {
        var worker = RequireWorker(id);
        return worker.State == WorkerState.Gone
            ? throw EngineException.Conflict($"Worker '{id}' has deregistered; register again.")
            : worker;
    }

    /// <summary>Marks a worker alive; an offline worker that speaks again is back.</summary>
    private void Touch(WorkerRecord worker, DateTimeOffset now)
    {
        worker.LastHeartbeat = now;
        if (worker.State == WorkerState.Offline)
        {
            worker.State = worker.Drain ? WorkerState.Draining : WorkerState.Online;
            _changes.Worker(worker);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) registered: provider {Provider}, models {Models}")]
    private partial void LogRegistered(string workerId, string name, string provider, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) deregistered; its leases went back to the queue")]
    private partial void LogDeregistered(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) re-registered as {Successor}; the old entry is superseded")]
    private partial void LogSuperseded(string workerId, string name, string successor);
}
