using System.Diagnostics;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Security;
using D8.Orchestrator.Telemetry;
using Microsoft.AspNetCore.Mvc;

namespace D8.Orchestrator.Workers;

/// <summary>
/// Worker protocol (register with the join token; everything else with the worker's own token) plus the
/// client's fleet view, drain and revoke calls (API key). A worker's reports on its tasks (complete, fail) are with the task
/// routes, in Tasks/TaskReportsApi.cs.
/// </summary>
public static class WorkersApi
{
    public static IEndpointRouteBuilder MapWorkersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Workers");

        api.MapGet("/workers", (SchedulingEngine engine) =>
                TypedResults.Json(engine.Workers(), D8JsonContext.Default.IReadOnlyListWorkerView))
            .RequireAuthorization(AuthSchemes.ApiKey)
            .WithName("ListWorkers")
            .WithSummary("The fleet: every worker with its state (online, draining, offline, gone) and counters.")
            .Produces<IReadOnlyList<WorkerView>>();

        api.MapPost("/workers/{id}/drain", async (string id, SchedulingEngine engine) =>
                TypedResults.Json(await engine.DrainAsync(id), D8JsonContext.Default.WorkerView))
            .RequireAuthorization(AuthSchemes.ApiKey)
            .WithName("DrainWorker")
            .WithSummary("Ask a worker to stop leasing, finish its tasks and leave (told in its next heartbeat answer).")
            .Produces<WorkerView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/workers", RegisterAsync)
            .RequireAuthorization(AuthSchemes.JoinToken)
            .WithName("RegisterWorker")
            .WithSummary("Register with the join token; returns the worker id and token for every later call.")
            .Accepts<RegisterWorkerRequest>("application/json")
            .Produces<RegisterWorkerResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest);

        var worker = api.MapGroup("").RequireAuthorization(AuthSchemes.WorkerToken);

        worker.MapPost("/workers/{id}/heartbeat", HeartbeatAsync)
            .WithName("Heartbeat")
            .WithSummary("Liveness; renews every lease the worker holds; answers cancels, lost leases, drain, cooldown.")
            .Accepts<HeartbeatRequest>("application/json")
            .Produces<HeartbeatResponse>();

        worker.MapPost("/workers/{id}/leases", LeaseAsync)
            .WithName("LeaseTasks")
            .WithSummary("Long-poll for up to max tasks (?wait=S); 200 with leases, 204 when the wait ends with none or the orchestrator starts to stop, 503 while it stops.")
            .Accepts<LeaseRequest>("application/json")
            .Produces<LeaseBatch>()
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapDelete("/workers/{id}", DeregisterAsync)
            .RequireAuthorization(AuthSchemes.WorkerOrApiKey)
            .WithName("DeregisterWorker")
            .WithSummary("With the worker's token: leave the fleet. With an API key: revoke the worker (its token stops working). " +
                         "Either way its leases go back to the queue at once.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, SchedulingEngine engine)
    {
        var body = await RequestReader.ReadAsync(request, D8JsonContext.Default.RegisterWorkerRequest);
        var errors = WorkerValidation.Validate(body);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }
        var response = await engine.RegisterAsync(body, request.HttpContext.Connection.RemoteIpAddress?.ToString());
        return TypedResults.Json(response, D8JsonContext.Default.RegisterWorkerResponse, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> HeartbeatAsync(string id, HttpContext context, SchedulingEngine engine)
    {
        if (ForeignWorker(context, id) is { } forbidden) return forbidden;
        var body = await RequestReader.ReadAsync(context.Request, D8JsonContext.Default.HeartbeatRequest, new HeartbeatRequest());
        var errors = WorkerValidation.Validate(body);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }
        return TypedResults.Json(await engine.HeartbeatAsync(id, body), D8JsonContext.Default.HeartbeatResponse);
    }

    private static async Task<IResult> LeaseAsync(string id, [FromQuery(Name = "wait")] string? rawWait, HttpContext context,
        SchedulingEngine engine, OrchestratorOptions options, IHostApplicationLifetime lifetime)
    {
        if (ForeignWorker(context, id) is { } forbidden) return forbidden;
        var stopping = lifetime.ApplicationStopping;
        if (stopping.IsCancellationRequested)
        {
            // A poll that arrives while the orchestrator stops is refused (the worker backs off) rather than answered
            // 204 at once, which the worker would follow with the next poll straight away.
            context.Response.Headers.RetryAfter = "5";
            return Problems.Result(StatusCodes.Status503ServiceUnavailable, "Stopping",
                "The orchestrator is stopping; lease again once it is back.");
        }
        var wait = RequestReader.Wait(rawWait, options.MaxWait);
        var body = await RequestReader.ReadAsync(context.Request, D8JsonContext.Default.LeaseRequest, new LeaseRequest());
        var errors = WorkerValidation.Validate(body);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }
        IReadOnlyList<TaskLease> leases;
        // A parked poll ends when the worker goes away or when the orchestrator starts to stop: the web server waits
        // for open requests before it stops, so a poll held to the end of its wait would hold the stop as long.
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            leases = await engine.LeaseAsync(id, body.Max, wait, poll.Token, body.TokenBudget);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return TypedResults.Empty;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Whatever the engine had handed to this poll went back to the queue with the cancellation.
            return TypedResults.NoContent();
        }
        if (leases.Count == 0)
        {
            return TypedResults.NoContent();
        }
        foreach (var lease in leases)
        {
            // One span per lease, in the trace of the submit that created the task: the lease long-poll itself is
            // protocol chatter and is not traced, so this is where the hand-over shows in the task's trace.
            ActivityContext.TryParse(lease.TraceParent, lease.TraceState, isRemote: true, out var submitted);
            using var activity = OrchestratorTelemetry.Source.StartActivity("d8.task.lease", ActivityKind.Internal, submitted);
            activity?.SetTag("d8.task.id", lease.TaskId);
            activity?.SetTag("d8.task.attempt", lease.Attempt);
            activity?.SetTag("d8.worker.id", id);
        }
        return TypedResults.Json(new LeaseBatch(leases), D8JsonContext.Default.LeaseBatch);
    }

    private static async Task<IResult> DeregisterAsync(string id, HttpContext context, SchedulingEngine engine)
    {
        if (context.User.FindFirst(AuthSchemes.WorkerIdClaim) is null)
        {
            // An operator's API key: revoke.
            await engine.RevokeAsync(id);
            return TypedResults.NoContent();
        }
        if (ForeignWorker(context, id) is { } forbidden) return forbidden;
        await engine.DeregisterAsync(id);
        return TypedResults.NoContent();
    }

    /// <summary>The authenticated worker's id (worker-token routes only).</summary>
    internal static string WorkerIdOf(HttpContext context) =>
        context.User.FindFirst(AuthSchemes.WorkerIdClaim)?.Value
        ?? throw new InvalidOperationException("Worker endpoints run only after worker-token authentication.");

    /// <summary>403 when a worker's token is used on another worker's path.</summary>
    private static IResult? ForeignWorker(HttpContext context, string pathId) =>
        string.Equals(WorkerIdOf(context), pathId, StringComparison.Ordinal)
            ? null
            : Problems.Result(StatusCodes.Status403Forbidden, "Forbidden",
                "A worker token may only be used for its own worker id.");
}
