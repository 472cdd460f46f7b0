using System.Net;

namespace D8.Contracts;

/// <summary>The orchestrator answered with an error status; <see cref="Problem"/> carries its explanation.</summary>
public sealed class OrchestratorException(HttpStatusCode status, Problem? problem, string message)
    : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public Problem? Problem { get; } = problem;
}
