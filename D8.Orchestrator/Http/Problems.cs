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

    /// <summary>A problem result for an endpoint to return (written by <see cref="WriteAsync"/>, like every other problem).</summary>
    public static IResult Result(int status, string title, string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        new ProblemResult(status, title, detail, errors);

    public static IResult BadRequest(string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        Result(StatusCodes.Status400BadRequest, "Bad request", detail, errors);

    /// <summary>400 listing every invalid field.</summary>
    public static IResult Validation(IReadOnlyDictionary<string, string[]> errors) =>
        Result(StatusCodes.Status400BadRequest, "Invalid request",
            string.Join(" ", errors.SelectMany(e => e.Value)), errors);

    /// <summary>
    /// The one path every problem answer takes: endpoint results, the exception handler, bare status codes (404, 405…)
    /// and authentication failures all end here. Under <c>/v1</c> the answer is OpenAI's error shape instead.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail,
        IReadOnlyDictionary<string, string[]>? errors = null)
    {
        // Nobody to answer: the response is under way, or the caller went away (a worker that shuts down aborts its
        // lease long-poll and deregisters, so the poll ends in an engine refusal nobody reads).
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        if (Gateway.OpenAiErrors.IsOpenAiPath(context.Request.Path))
        {
            // The OpenAI door answers in OpenAI's shape, whichever part of the pipeline refused the call.
            var message = errors is { Count: > 0 } ? string.Join(" ", errors.SelectMany(e => e.Value)) : detail;
            await Gateway.OpenAiErrors.WriteAsync(context, status, Gateway.OpenAiErrors.ForStatus(status, message));
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        var problem = Create(status, title, detail, context.Request.Path, errors);
        try
        {
            await JsonSerializer.SerializeAsync(context.Response.Body, problem, D8JsonContext.Default.Problem, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away while the answer was written.
        }
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

    private sealed class ProblemResult(int status, string title, string detail, IReadOnlyDictionary<string, string[]>? errors)
        : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, status, title, detail, errors);
    }
}
