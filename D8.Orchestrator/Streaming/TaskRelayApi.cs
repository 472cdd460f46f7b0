using D8.Contracts;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Security;
using D8.Orchestrator.Workers;

namespace D8.Orchestrator.Streaming;

/// <summary>
/// <c>POST /api/tasks/{id}/relay</c> (worker token): a piece of a streamed task's answer while the worker runs it
/// (docs/worker-protocol.md, "Streaming relay"). 204 when taken; 409 once the lease is stale, the task does not stream
/// or the offset is wrong (the worker then stops relaying: its completion report carries the whole answer).
/// </summary>
public static class TaskRelayApi
{
    public static IEndpointRouteBuilder MapTaskRelayApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/tasks/{id}/relay", RelayAsync)
            .RequireAuthorization(AuthSchemes.WorkerToken)
            .WithTags("Workers")
            .WithName("RelayTaskText")
            .WithSummary("Relay a piece of a streamed task's answer (worker token, the task's current lease, in order).")
            .Accepts<RelayRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> RelayAsync(string id, HttpContext context, SchedulingEngine engine, TaskStreamHub hub)
    {
        var body = await RequestReader.ReadAsync(context.Request, D8JsonContext.Default.RelayRequest);
        var errors = Validate(body);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }
        engine.Relay(id, WorkersApi.WorkerIdOf(context), body, hub);
        return TypedResults.NoContent();
    }

    internal static Dictionary<string, string[]> Validate(RelayRequest r)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(r.LeaseId))
        {
            errors["lease_id"] = ["lease_id is required."];
        }
        if (r.Offset < 0)
        {
            errors["offset"] = ["offset must not be negative."];
        }
        if (string.IsNullOrEmpty(r.Text) || r.Text.Length > RelayRequest.MaxTextChars)
        {
            errors["text"] = [$"text must have 1 to {RelayRequest.MaxTextChars} characters."];
        }
        return errors;
    }
}
