namespace D8.Orchestrator.Scheduling;

/// <summary>Why the engine refused a request; the HTTP edge maps each to a status code (Http/Problems.cs).</summary>
public enum EngineError
{
    NotFound,
    Conflict,
    Forbidden,
    BadRequest,
    TooLarge,
}

/// <summary>A request the engine (or request reading) refuses: unknown id, stale lease, bad input.</summary>
public sealed class EngineException(EngineError error, string title, string detail) : Exception(detail)
{
    public EngineError Error { get; } = error;
    public string Title { get; } = title;

    public static EngineException NotFound(string what, string id) =>
        new(EngineError.NotFound, $"{what} not found", $"No {what.ToLowerInvariant()} with id '{id}'.");

    public static EngineException Conflict(string detail) => new(EngineError.Conflict, "Conflict", detail);

    public static EngineException Forbidden(string detail) => new(EngineError.Forbidden, "Forbidden", detail);
}
