using System.Diagnostics;
using System.Globalization;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Security;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Tasks;

/// <summary>Client API: submit, get (long-poll), list, cancel, stats. All need an API key.</summary>
public static class TasksApi
{
    public static IEndpointRouteBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        var tasks = app.MapGroup("/api").RequireAuthorization(AuthSchemes.ApiKey).WithTags("Tasks");

        tasks.MapPost("/tasks", SubmitAsync)
            .WithName("SubmitTask")
            .WithSummary("Submit a chat task; 202 with its id, or 200 with duplicate=true for a known idempotency key.")
            .Accepts<SubmitTaskRequest>("application/json")
            .Produces<SubmitTaskResponse>(StatusCodes.Status202Accepted)
            .Produces<SubmitTaskResponse>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        tasks.MapGet("/tasks/{id}", GetAsync)
            .WithName("GetTask")
            .WithSummary("Get a task; ?wait=S long-polls until it is terminal (at most D8_MAX_WAIT_SECONDS).")
            .Produces<TaskView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        tasks.MapGet("/tasks", List)
            .WithName("ListTasks")
            .WithSummary("List tasks newest first; filter by ?state=, page with ?limit= and ?cursor=.")
            .Produces<TaskPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        tasks.MapDelete("/tasks/{id}", CancelAsync)
            .WithName("CancelTask")
            .WithSummary("Cancel a queued or leased task.")
            .Produces<TaskView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        tasks.MapGet("/stats", (SchedulingEngine engine, Gateway.GatewayTelemetry gateway) => TypedResults.Json(
                engine.Stats() with { Gateway = new GatewayCalls(gateway.InFlight, gateway.Queued()) }, D8JsonContext.Default.StatsView))
            .WithName("GetStats")
            .WithSummary("Task counts by state, unroutable tasks, workers by state, tokens reported, OpenAI calls open and queued.")
            .Produces<StatsView>();
        return app;
    }

    private static async Task<IResult> SubmitAsync(HttpRequest request, SchedulingEngine engine, TimeProvider time)
    {
        var body = await RequestReader.ReadAsync(request, D8JsonContext.Default.SubmitTaskRequest);
        var header = request.Headers["Idempotency-Key"].ToString();
        if (header.Length > 0)
        {
            if (body.IdempotencyKey is { } key && key != header)
            {
                return Problems.BadRequest("The Idempotency-Key header and the body's idempotency_key differ.");
            }
            body = body with { IdempotencyKey = header };
        }
        var errors = SubmitValidation.Validate(body, time.GetUtcNow());
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        using var activity = OrchestratorTelemetry.Start("d8.task.submit");
        // The span just started (or the request's own) is what the worker's run will continue.
        var context = activity ?? Activity.Current;
        var traceParent = context?.Id ?? NullIfEmpty(request.Headers["traceparent"].ToString());
        var traceState = context is not null ? context.TraceStateString : NullIfEmpty(request.Headers["tracestate"].ToString());
        var (view, duplicate) = await engine.SubmitAsync(body, traceParent, traceState);
        activity?.SetTag("d8.task.id", view.Id);
        activity?.SetTag("d8.task.duplicate", duplicate);

        var location = $"/api/tasks/{view.Id}";
        var response = new SubmitTaskResponse(view.Id, view.State, location, duplicate);
        return duplicate
            ? TypedResults.Json(response, D8JsonContext.Default.SubmitTaskResponse)
            : TypedResults.Json(response, D8JsonContext.Default.SubmitTaskResponse, statusCode: StatusCodes.Status202Accepted)
                .WithLocation(location);
    }

    private static async Task<IResult> GetAsync(string id, HttpRequest request, SchedulingEngine engine, OrchestratorOptions options)
    {
        var wait = RequestReader.Wait(request, options.MaxWait);
        var view = await engine.GetAsync(id, wait, request.HttpContext.RequestAborted);
        return TypedResults.Json(view, D8JsonContext.Default.TaskView);
    }

    private static IResult List(HttpRequest request, SchedulingEngine engine)
    {
        TaskState? state = null;
        var rawState = request.Query["state"].ToString();
        if (rawState.Length > 0)
        {
            if (!WireNames.TryParse(rawState, out var s))
            {
                return Problems.BadRequest($"state='{rawState}' must be queued, leased, succeeded, failed or cancelled.");
            }
            state = s;
        }
        var limit = 100;
        var rawLimit = request.Query["limit"].ToString();
        if (rawLimit.Length > 0 && (!int.TryParse(rawLimit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > 1000))
        {
            return Problems.BadRequest($"limit='{rawLimit}' must be a whole number from 1 to 1000.");
        }
        long? cursor = null;
        var rawCursor = request.Query["cursor"].ToString();
        if (rawCursor.Length > 0)
        {
            if (!long.TryParse(rawCursor, NumberStyles.None, CultureInfo.InvariantCulture, out var c) || c < 1)
            {
                return Problems.BadRequest($"cursor='{rawCursor}' is not a cursor this API handed out.");
            }
            cursor = c;
        }
        return TypedResults.Json(engine.List(state, limit, cursor), D8JsonContext.Default.TaskPage);
    }

    private static async Task<IResult> CancelAsync(string id, SchedulingEngine engine) =>
        TypedResults.Json(await engine.CancelAsync(id), D8JsonContext.Default.TaskView);

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static IResult WithLocation(this IResult result, string location) => new LocatedResult(result, location);

    private sealed class LocatedResult(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
