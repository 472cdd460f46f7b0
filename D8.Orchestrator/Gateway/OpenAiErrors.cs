using System.Globalization;
using System.Text.Json;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// Errors in OpenAI's shape (<c>{"error": {"message", "type", "param", "code"}}</c>) for every <c>/v1</c> route, so
/// the official SDKs raise their typed exceptions (BadRequestError, AuthenticationError, NotFoundError,
/// RateLimitError…). This is deliberately the orchestrator's second error shape, for <c>/v1</c> only: everywhere else
/// a refusal is RFC 7807 problem details, and a problem raised on a <c>/v1</c> route by the shared pipeline
/// (authentication, a bare 404, the exception handler) is turned into this shape by <see cref="Http.ProblemWriter"/>.
/// </summary>
public static class OpenAiErrors
{
    public const string InvalidRequest = "invalid_request_error";
    public const string RateLimitType = "requests";
    public const string ServerError = "server_error";

    /// <summary>True for a request under <c>/v1</c>: the paths answered in OpenAI's shape rather than problem details.</summary>
    public static bool IsOpenAiPath(PathString path) => path.StartsWithSegments("/v1", StringComparison.OrdinalIgnoreCase);

    /// <summary>400 naming the field (<paramref name="param"/>, OpenAI's dotted/bracketed path such as <c>messages[0].content</c>).</summary>
    public static OpenAiError BadRequest(string message, string? param, string? code = null) =>
        new(message, InvalidRequest, param, code);

    /// <summary>400 for a parameter OpenAI defines and D8 does not run.</summary>
    public static OpenAiError Unsupported(string param, string why) =>
        new($"'{param}' is not supported by D8: {why}", InvalidRequest, param, "unsupported_parameter");

    public static OpenAiError InvalidApiKey(string message) => new(message, InvalidRequest, null, "invalid_api_key");

    public static OpenAiError ModelNotFound(string model, IEnumerable<string> known)
    {
        var list = string.Join(", ", known);
        var served = list.Length == 0 ? "no registered worker serves any model yet" : "models served: " + list;
        return new($"The model '{model}' does not exist: no registered worker serves it ({served}).", InvalidRequest, "model",
            "model_not_found");
    }

    public static OpenAiError NotFound(string message, string? code = null) => new(message, InvalidRequest, null, code);

    public static OpenAiError RateLimited(string message) => new(message, RateLimitType, null, "rate_limit_exceeded");

    public static OpenAiError Server(string message) => new(message, ServerError, null, null);

    /// <summary>A malformed body: the JSON path of the first bad token becomes <c>param</c>.</summary>
    public static OpenAiError MalformedJson(JsonException ex)
    {
        var param = ex.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : null;
        var where = param is null ? "" : $" at '{param}'";
        return new($"We could not parse the JSON body of your request{where}: {ex.Message}", InvalidRequest, param,
            "invalid_json");
    }

    /// <summary>An endpoint result writing <paramref name="error"/> with <paramref name="status"/>.</summary>
    public static IResult Result(int status, OpenAiError error, TimeSpan? retryAfter = null) =>
        new ErrorResult(status, error, retryAfter);

    /// <summary>Writes <paramref name="error"/> unless the answer already started or the caller left.</summary>
    public static async Task WriteAsync(HttpContext context, int status, OpenAiError error, TimeSpan? retryAfter = null)
    {
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (retryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter =
                Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        try
        {
            await JsonSerializer.SerializeAsync(context.Response.Body, new OpenAiErrorBody(error),
                OpenAiWireContext.Default.OpenAiErrorBody, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away while the answer was written.
        }
    }

    /// <summary>The OpenAI error for a status answered by the rest of the pipeline (bare 404, 405, 413, engine refusals).</summary>
    public static OpenAiError ForStatus(int status, string message) => status switch
    {
        StatusCodes.Status401Unauthorized => InvalidApiKey(message),
        StatusCodes.Status404NotFound => NotFound(message, "not_found"),
        StatusCodes.Status413PayloadTooLarge => new(message, InvalidRequest, null, "request_too_large"),
        StatusCodes.Status429TooManyRequests => RateLimited(message),
        >= 500 => Server(message),
        _ => new(message, InvalidRequest, null, null),
    };

    private sealed class ErrorResult(int status, OpenAiError error, TimeSpan? retryAfter) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, status, error, retryAfter);
    }
}
