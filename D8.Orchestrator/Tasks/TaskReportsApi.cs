using D8.Contracts;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Security;
using D8.Orchestrator.Telemetry;
using D8.Orchestrator.Workers;

namespace D8.Orchestrator.Tasks;

/// <summary>A worker's reports on a task it leased: complete and fail (worker token; the lease must be its own).</summary>
public static class TaskReportsApi
{
    public static IEndpointRouteBuilder MapTaskReportsApi(this IEndpointRouteBuilder app)
    {
        var reports = app.MapGroup("/api").RequireAuthorization(AuthSchemes.WorkerToken).WithTags("Workers");

        reports.MapPost("/tasks/{id}/complete", CompleteAsync)
            .WithName("CompleteTask")
            .WithSummary("Report a result; idempotent on the lease id; 409 if the lease is stale.")
            .Accepts<CompleteTaskRequest>("application/json")
            .Produces<TaskView>()
            .ProducesProblem(StatusCodes.Status409Conflict);

        reports.MapPost("/tasks/{id}/fail", FailAsync)
            .WithName("FailTask")
            .WithSummary("Report a failed attempt (rate_limited, transient, permanent, cancelled, released).")
            .Accepts<FailTaskRequest>("application/json")
            .Produces<TaskView>()
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> CompleteAsync(string id, HttpContext context, SchedulingEngine engine)
    {
        var body = await RequestReader.ReadAsync(context.Request, D8JsonContext.Default.CompleteTaskRequest);
        var errors = WorkerValidation.Validate(body);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }
        using var activity = OrchestratorTelemetry.Start("d8.task.complete");
        activity?.SetTag("d8.task.id", id);
        var view = await engine.CompleteAsync(id, WorkersApi.WorkerIdOf(context), body);
        return TypedResults.Json(view, D8JsonContext.Default.TaskView);
    }

    private static async Task<IResult> FailAsync(string id, HttpContext context, SchedulingEngine engine)
    {
        var body = await RequestReader.ReadAsync(context.Request, D8JsonContext.Default.FailTaskRequest);
        var errors = WorkerValidation.Validate(body);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }
        using var activity = OrchestratorTelemetry.Start("d8.task.fail");
        activity?.SetTag("d8.task.id", id);
        activity?.SetTag("d8.failure.kind", WireNames.Of(body.Kind));
        var view = await engine.FailAsync(id, WorkersApi.WorkerIdOf(context), body);
        activity?.SetTag("d8.task.state", WireNames.Of(view.State));
        return TypedResults.Json(view, D8JsonContext.Default.TaskView);
    }
}
