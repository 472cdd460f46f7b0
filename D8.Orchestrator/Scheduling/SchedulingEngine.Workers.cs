using D8.Contracts;
using D8.Orchestrator.Streaming;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The worker protocol: membership — register, heartbeat, deregister, drain, revoke (<see cref="Fleet"/> does the
/// work) — and leases — the long-poll and the reports on a lease (<see cref="LeaseProtocol"/>; the exchange both sides
/// share is written down in docs/worker-protocol.md).
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>
    /// Long-poll: returns up to <paramref name="max"/> leases as soon as eligible tasks exist, or none when the wait
    /// ends. A worker in cooldown, draining, unhealthy or at its concurrency limit waits without being given tasks.
    /// </summary>
    public Task<IReadOnlyList<TaskLease>> LeaseAsync(string workerId, int max, TimeSpan wait, CancellationToken ct,
        int? tokenBudget = null) => _leases.LeaseAsync(workerId, max, wait, ct, tokenBudget);

    /// <summary>Records a result. Idempotent on the lease id; a stale lease is refused (conflict).</summary>
    public Task<TaskView> CompleteAsync(string taskId, string workerId, CompleteTaskRequest request) =>
        _leases.CompleteAsync(taskId, workerId, request);

    /// <summary>Records a failed attempt and applies the <see cref="FailurePolicy"/>: retry, another worker, or failure.</summary>
    public Task<TaskView> FailAsync(string taskId, string workerId, FailTaskRequest request) =>
        _leases.FailAsync(taskId, workerId, request);

    /// <summary>Accepts a piece of a streamed task's answer and publishes it to <paramref name="hub"/>; refuses (404, 403, 409)
    /// an unknown task, another worker's lease, a stale or copy lease, a task that does not stream, a piece at the wrong offset.</summary>
    public void Relay(string taskId, string workerId, RelayRequest request, TaskStreamHub hub) =>
        _leases.Relay(taskId, workerId, request, hub);

    /// <summary>Registers a worker and returns its token; a restarted worker supersedes its old entry (<see cref="Fleet.Register"/>).</summary>
    public async Task<RegisterWorkerResponse> RegisterAsync(RegisterWorkerRequest request, string? address = null)
    {
        Task commit;
        RegisterWorkerResponse response;
        lock (_gate)
        {
            response = _fleet.Register(request, address, Now);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return response;
    }

    /// <summary>The worker a token belongs to, or null (<see cref="WorkerCredentials"/>, which the credential handler asks itself).</summary>
    public string? AuthenticateWorker(string token) => _workers.Credentials.Authenticate(token);

    /// <summary>Liveness: renews every lease the worker holds and tells it what to cancel, what it lost, whether to drain.</summary>
    public async Task<HeartbeatResponse> HeartbeatAsync(string workerId, HeartbeatRequest request)
    {
        Task commit;
        HeartbeatResponse response;
        lock (_gate)
        {
            response = _fleet.Heartbeat(_workers.RequireLive(workerId), request, Now);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return response;
    }

    /// <summary>Graceful leave: the worker's leases go back to the queue at once, without burning attempts.</summary>
    public async Task DeregisterAsync(string workerId)
    {
        Task commit;
        lock (_gate)
        {
            var worker = _workers.Require(workerId);
            if (worker.State == WorkerState.Gone)
            {
                return;
            }
            _fleet.Deregister(worker, Now);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
    }

    /// <summary>Asks a worker to drain: no new leases; the heartbeat answer says drain.</summary>
    public async Task<WorkerView> DrainAsync(string workerId)
    {
        Task commit;
        WorkerView view;
        lock (_gate)
        {
            var worker = _workers.Require(workerId);
            _fleet.Drain(worker);
            view = TaskViews.Of(worker, _s.Speeds.SpeedsOf(worker));
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    /// <summary>
    /// An operator turns a worker away (DELETE /api/workers/{id} with the API key): its token stops working at once,
    /// its leases go back to the queue without using attempts (<see cref="Fleet.Revoke"/>).
    /// </summary>
    public async Task RevokeAsync(string workerId)
    {
        Task commit;
        lock (_gate)
        {
            var worker = _workers.Require(workerId);
            if (worker.State == WorkerState.Gone && worker.Revoked) return;
            _fleet.Revoke(worker, Now);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
    }
}
