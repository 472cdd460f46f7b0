using D8.Orchestrator.Security;

namespace D8.Orchestrator.Workers;

/// <summary>
/// A side-effect-free join-token check for <c>d8 setup worker</c> and <c>d8 doctor</c>: registering would
/// create a worker, so tools ask here instead. 204 when the token is accepted, 401 when not.
/// </summary>
public static class JoinCheckApi
{
    public static IEndpointRouteBuilder MapJoinCheckApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/workers/join-check", () => TypedResults.NoContent())
            .RequireAuthorization(AuthSchemes.JoinToken)
            .WithTags("Workers")
            .WithName("CheckJoinToken")
            .WithSummary("Check a join token without registering: 204 if accepted, 401 if not.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return app;
    }
}
