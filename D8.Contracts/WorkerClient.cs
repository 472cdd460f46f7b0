namespace D8.Contracts;

/// <summary>
/// The worker protocol for one registration: every call carries this worker's id in its path and its token as the
/// bearer, both fixed for the life of the client. Registering again (<see cref="OrchestratorClient.RegisterAsync"/>)
/// gives a new id and token, so it gives a new client: a call in flight never mixes one registration's id with
/// another's token. Every error status becomes an <see cref="OrchestratorException"/> carrying the problem details.
/// </summary>
/// <param name="http">Aimed at the orchestrator's base address.</param>
/// <param name="id">The worker id registration returned.</param>
/// <param name="token">The worker token registration returned.</param>
public sealed class WorkerClient(HttpClient http, string id, string token)
{
    private readonly string _path = "api/workers/" + Uri.EscapeDataString(id);

    /// <summary>The worker id this client acts for.</summary>
    public string Id { get; } = id;

    /// <summary>The worker token it sends.</summary>
    public string Token { get; } = token;

    public Task<HeartbeatResponse> HeartbeatAsync(HeartbeatRequest request, CancellationToken ct = default) =>
        OrchestratorHttp.SendAsync(http, HttpMethod.Post, $"{_path}/heartbeat", Token, request,
            D8JsonContext.Default.HeartbeatRequest, D8JsonContext.Default.HeartbeatResponse, ct)!;

    /// <summary>Long-polls for up to <paramref name="max"/> tasks; returns an empty list when the wait ends with none.</summary>
    /// <param name="tokenBudget">What the worker's tokens-per-minute budget can take now (null: unlimited).</param>
    public async Task<IReadOnlyList<TaskLease>> LeaseAsync(int max, TimeSpan wait, CancellationToken ct = default, int? tokenBudget = null)
    {
        var batch = await OrchestratorHttp.SendAsync(http, HttpMethod.Post, $"{_path}/leases{OrchestratorHttp.WaitQuery(wait, '?')}",
            Token, new LeaseRequest(max) { TokenBudget = tokenBudget }, D8JsonContext.Default.LeaseRequest, D8JsonContext.Default.LeaseBatch, ct)
            .ConfigureAwait(false);
        return batch?.Leases ?? [];
    }

    public Task CompleteAsync(string taskId, CompleteTaskRequest request, CancellationToken ct = default) =>
        OrchestratorHttp.SendAsync<CompleteTaskRequest, TaskView>(http, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(taskId)}/complete",
            Token, request, D8JsonContext.Default.CompleteTaskRequest, null, ct);

    public Task FailAsync(string taskId, FailTaskRequest request, CancellationToken ct = default) =>
        OrchestratorHttp.SendAsync<FailTaskRequest, TaskView>(http, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(taskId)}/fail",
            Token, request, D8JsonContext.Default.FailTaskRequest, null, ct);

    /// <summary>Relays a piece of a streamed task's answer while it runs (204; 409 once the lease is stale).</summary>
    public Task RelayAsync(string taskId, RelayRequest request, CancellationToken ct = default) =>
        OrchestratorHttp.SendAsync<RelayRequest, object>(http, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(taskId)}/relay",
            Token, request, D8JsonContext.Default.RelayRequest, null, ct);

    /// <summary>Leaves the fleet; the orchestrator requeues the worker's leases at once.</summary>
    public Task DeregisterAsync(CancellationToken ct = default) =>
        OrchestratorHttp.SendAsync<object, object>(http, HttpMethod.Delete, _path, Token, null, null, null, ct);
}
