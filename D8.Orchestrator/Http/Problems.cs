using D8.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace D8.Orchestrator.Http;

/// <summary>
/// RFC 7807 problem-details answers, all through the framework's <see cref="IProblemDetailsService"/>: endpoint results
/// (<see cref="TypedResults.Problem(string?, string?, int?, string?, string?, IDictionary{string, object?}?)"/> and
/// <see cref="TypedResults.ValidationProblem(IEnumerable{KeyValuePair{string, string[]}}, string?, string?, string?, string?, IDictionary{string, object?}?)"/>),
/// the exception handler (engine refusals, binding failures, malformed bodies), bare status codes (404, 405…) and
/// authentication refusals reach that one service, whose first writer, <see cref="ProblemWriter"/>, answers them all
/// (the framework's default writer behind it is never asked).
/// </summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";

    /// <summary>Registers the one problem-details path: <see cref="ProblemWriter"/> ahead of the framework's default writer.</summary>
    public static IServiceCollection AddD8ProblemDetails(this IServiceCollection services)
    {
        // Registered before AddProblemDetails adds its default writer: the service asks its writers in order.
        services.AddSingleton<IProblemDetailsWriter, ProblemWriter>();
        services.AddProblemDetails();
        // A parameter the framework cannot bind (a route or query value of the wrong type, an unreadable body) throws
        // instead of answering an empty 400, so the exception handler answers it with a problem naming the parameter.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return services;
    }

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
    public static ProblemHttpResult Result(int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title);

    public static ProblemHttpResult BadRequest(string detail) =>
        Result(StatusCodes.Status400BadRequest, "Bad request", detail);

    /// <summary>400 listing every invalid field (the detail joins their messages unless given).</summary>
    public static ValidationProblem Validation(IReadOnlyDictionary<string, string[]> errors, string title = "Invalid request",
        string? detail = null) =>
        TypedResults.ValidationProblem(errors, detail ?? string.Join(" ", errors.SelectMany(e => e.Value)), title: title);

    /// <summary>Writes a problem from outside an endpoint (the exception handler, status-code pages, authentication).</summary>
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        // The writer sets the status, unless the answer already started or the caller left.
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
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
