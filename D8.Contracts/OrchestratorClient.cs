using System.Globalization;
using System.Text.Json.Serialization.Metadata;

namespace D8.Contracts;

/// <summary>
/// Typed client for the orchestrator's HTTP API, used by workers, the CLI and tests. Its credentials are fixed when it
/// is made (one client per credential; a shared client never changes whose calls it makes): client calls send
/// <see cref="ApiKey"/>, registration and the join check send <see cref="JoinToken"/>. Registering gives a
/// <see cref="WorkerClient"/> for the worker's own calls (<see cref="AsWorker"/>).
/// Every error status becomes an <see cref="OrchestratorException"/> carrying the problem details.
/// </summary>
public sealed class OrchestratorClient(HttpClient http)
{
    /// <summary>API key for the client API (submit, get, list, cancel, fleet, stats).</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Join token for <see cref="RegisterAsync"/>: a bare secret or the pinned form (only the secret is sent; the pin is
    /// checked by the HTTP handler, see <see cref="Trust.PinnedTrust"/>).
    /// </summary>
    public string? JoinToken { get; init; }

    private string? JoinSecret => JoinToken is null ? null
        : Trust.JoinToken.TryParse(JoinToken, out var token, out _) ? token.Secret : JoinToken;

    public HttpClient Http => http;

    // ---- client API ----

    public Task<SubmitTaskResponse> SubmitAsync(SubmitTaskRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/tasks", ApiKey, request, D8JsonContext.Default.SubmitTaskRequest,
            D8JsonContext.Default.SubmitTaskResponse, ct)!;

    /// <summary>Gets a task; with <paramref name="wait"/> the call returns as soon as the task is terminal or the wait ends.</summary>
    public Task<TaskView> GetTaskAsync(string id, TimeSpan? wait = null, CancellationToken ct = default) =>
        SendAsync<object, TaskView>(HttpMethod.Get, $"api/tasks/{Uri.EscapeDataString(id)}{WaitQuery(wait, '?')}",
            ApiKey, null, null, D8JsonContext.Default.TaskView, ct)!;

    public Task<TaskPage> ListTasksAsync(TaskState? state = null, int? limit = null, string? cursor = null,
        CancellationToken ct = default)
    {
        var q = new List<string>();
        if (state is { } s) q.Add("state=" + WireNames.Of(s));
        if (limit is { } l) q.Add("limit=" + l.ToString(CultureInfo.InvariantCulture));
        if (cursor is not null) q.Add("cursor=" + Uri.EscapeDataString(cursor));
        var path = "api/tasks" + (q.Count > 0 ? "?" + string.Join('&', q) : "");
        return SendAsync<object, TaskPage>(HttpMethod.Get, path, ApiKey, null, null, D8JsonContext.Default.TaskPage, ct)!;
    }

    public Task<TaskView> CancelAsync(string id, CancellationToken ct = default) =>
        SendAsync<object, TaskView>(HttpMethod.Delete, $"api/tasks/{Uri.EscapeDataString(id)}", ApiKey, null, null,
            D8JsonContext.Default.TaskView, ct)!;

    public Task<IReadOnlyList<WorkerView>> GetWorkersAsync(CancellationToken ct = default) =>
        SendAsync<object, IReadOnlyList<WorkerView>>(HttpMethod.Get, "api/workers", ApiKey, null, null,
            D8JsonContext.Default.IReadOnlyListWorkerView, ct)!;

    public Task<StatsView> GetStatsAsync(CancellationToken ct = default) =>
        SendAsync<object, StatsView>(HttpMethod.Get, "api/stats", ApiKey, null, null, D8JsonContext.Default.StatsView, ct)!;

    // ---- prompt evolution ----

    public Task<SubmitEvolutionResponse> SubmitEvolutionAsync(EvolutionSpec spec, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/evolutions", ApiKey, spec, D8JsonContext.Default.EvolutionSpec,
            D8JsonContext.Default.SubmitEvolutionResponse, ct)!;

    /// <summary>The newest runs (the orchestrator's default number of them), newest first.</summary>
    public Task<IReadOnlyList<EvolutionView>> ListEvolutionsAsync(CancellationToken ct = default) =>
        SendAsync<object, IReadOnlyList<EvolutionView>>(HttpMethod.Get, "api/evolutions", ApiKey, null, null,
            D8JsonContext.Default.IReadOnlyListEvolutionView, ct)!;

    /// <summary>The newest <paramref name="limit"/> runs (1–500), newest first.</summary>
    public Task<IReadOnlyList<EvolutionView>> ListEvolutionsAsync(int limit, CancellationToken ct = default) =>
        SendAsync<object, IReadOnlyList<EvolutionView>>(HttpMethod.Get, $"api/evolutions?limit={limit}", ApiKey, null, null,
            D8JsonContext.Default.IReadOnlyListEvolutionView, ct)!;

    /// <summary>Gets a run; with <paramref name="wait"/> the call returns as soon as the run has ended or the wait ends.</summary>
    public Task<EvolutionView> GetEvolutionAsync(string id, TimeSpan? wait = null, CancellationToken ct = default) =>
        SendAsync<object, EvolutionView>(HttpMethod.Get, $"api/evolutions/{Uri.EscapeDataString(id)}{WaitQuery(wait, '?')}", ApiKey, null, null,
            D8JsonContext.Default.EvolutionView, ct)!;

    /// <summary>The best genome; with <paramref name="maxTokens"/>, the best on the front costing at most that many tokens per evaluation.</summary>
    public Task<GenomeView> GetBestGenomeAsync(string id, long? maxTokens = null, CancellationToken ct = default) =>
        SendAsync<object, GenomeView>(HttpMethod.Get,
            $"api/evolutions/{Uri.EscapeDataString(id)}/best" + (maxTokens is { } max ? $"?max_tokens={max.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : ""),
            ApiKey, null, null,
            D8JsonContext.Default.GenomeView, ct)!;

    public Task<LineageView> GetLineageAsync(string id, CancellationToken ct = default) =>
        SendAsync<object, LineageView>(HttpMethod.Get, $"api/evolutions/{Uri.EscapeDataString(id)}/lineage", ApiKey, null, null,
            D8JsonContext.Default.LineageView, ct)!;

    public Task<EvolutionView> StopEvolutionAsync(string id, CancellationToken ct = default) =>
        SendAsync<object, EvolutionView>(HttpMethod.Post, $"api/evolutions/{Uri.EscapeDataString(id)}/stop", ApiKey, null, null,
            D8JsonContext.Default.EvolutionView, ct)!;

    /// <summary>Revokes a worker with the API key: its token stops working, its leases go back to the queue (404 if unknown).</summary>
    public Task RevokeWorkerAsync(string workerId, CancellationToken ct = default) =>
        SendAsync<object, object>(HttpMethod.Delete, $"api/workers/{Uri.EscapeDataString(workerId)}", ApiKey, null, null, null, ct);

    // ---- joining (the worker's own calls are on WorkerClient) ----

    /// <summary>Registers with the join token; <see cref="AsWorker"/> makes the client for the new worker's calls.</summary>
    public Task<RegisterWorkerResponse> RegisterAsync(RegisterWorkerRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "api/workers", JoinSecret, request,
            D8JsonContext.Default.RegisterWorkerRequest, D8JsonContext.Default.RegisterWorkerResponse, ct)!;

    /// <summary>A client for the worker calls of <paramref name="registration"/>, over the same connection.</summary>
    public WorkerClient AsWorker(RegisterWorkerResponse registration) => new(http, registration.WorkerId, registration.WorkerToken);

    // ---- checks (used by d8 setup and d8 doctor; no side effects) ----

    /// <summary>GET /health (anonymous): whether the orchestrator answers healthy, and its clock from the Date header.</summary>
    public async Task<OrchestratorHealth> GetHealthAsync(CancellationToken ct = default)
    {
        using var response = await http.GetAsync("health", HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        return new OrchestratorHealth(response.IsSuccessStatusCode, (int)response.StatusCode, response.Headers.Date);
    }

    /// <summary>Checks <see cref="JoinToken"/> without registering a worker: 204 when accepted, else an <see cref="OrchestratorException"/> (401).</summary>
    public Task CheckJoinTokenAsync(CancellationToken ct = default) =>
        SendAsync<object, object>(HttpMethod.Get, "api/workers/join-check", JoinSecret, null, null, null, ct);

    // ---- plumbing ----

    private static string WaitQuery(TimeSpan? wait, char sep) => OrchestratorHttp.WaitQuery(wait, sep);

    private Task<TResponse?> SendAsync<TRequest, TResponse>(
        HttpMethod method, string path, string? bearer, TRequest? body,
        JsonTypeInfo<TRequest>? requestInfo, JsonTypeInfo<TResponse>? responseInfo, CancellationToken ct)
        where TResponse : class =>
        OrchestratorHttp.SendAsync(http, method, path, bearer, body, requestInfo, responseInfo, ct);
}
