namespace D8.Orchestrator.Scheduling;

/// <summary>A request the engine refuses (unknown id, stale lease…); becomes a problem-details answer.</summary>
public sealed class EngineException(int status, string title, string detail) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    public static EngineException NotFound(string what, string id) =>
        new(StatusCodes.Status404NotFound, $"{what} not found", $"No {what.ToLowerInvariant()} with id '{id}'.");

    public static EngineException Conflict(string detail) =>
        new(StatusCodes.Status409Conflict, "Conflict", detail);
}
