using System.Text.Json;
using D8.Contracts;
using Microsoft.AspNetCore.WebUtilities;

namespace D8.Orchestrator.Http;

/// <summary>RFC 7807 problem-details answers, written with the wire JSON context.</summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    public static Problem Create(int status, string title, string detail, string? instance = null,
        IReadOnlyDictionary<string, string[]>? errors = null) => new()
    {
        Type = $"https://httpstatuses.io/{status}",
        Title = title,
        Status = status,
        Detail = detail,
        Instance = instance,
        Errors = errors,
    };

    /// <summary>A problem result for an endpoint to return.</summary>
    public static IResult Result(int status, string title, string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        Results.Json(Create(status, title, detail, errors: errors), D8JsonContext.Default.Problem, ContentType, status);

    public static IResult BadRequest(string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        Result(StatusCodes.Status400BadRequest, "Bad request", detail, errors);

    /// <summary>400 listing every invalid field.</summary>
    public static IResult Validation(IReadOnlyDictionary<string, string[]> errors) =>
        Result(StatusCodes.Status400BadRequest, "Invalid request",
            string.Join(" ", errors.SelectMany(e => e.Value)), errors);

    /// <summary>Writes a problem straight to the response (middleware, auth handlers).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        if (context.Response.HasStarted)
        {
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        var problem = Create(status, title, detail, context.Request.Path);
        await JsonSerializer.SerializeAsync(context.Response.Body, problem, D8JsonContext.Default.Problem, context.RequestAborted);
    }

    /// <summary>The HTTP status of an engine refusal: the one place domain errors meet status codes.</summary>
    public static int StatusOf(Scheduling.EngineError error) => error switch
    {
        Scheduling.EngineError.NotFound => StatusCodes.Status404NotFound,
        Scheduling.EngineError.Conflict => StatusCodes.Status409Conflict,
        Scheduling.EngineError.Forbidden => StatusCodes.Status403Forbidden,
        Scheduling.EngineError.TooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>The standard reason phrase for a status code.</summary>
    public static string TitleOf(int status) => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } p ? p : "Error";
}
