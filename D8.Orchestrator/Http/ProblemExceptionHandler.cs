using System.Text.Json;
using D8.Orchestrator.Scheduling;
using Microsoft.AspNetCore.Diagnostics;

namespace D8.Orchestrator.Http;

/// <summary>
/// Last line of defence: turns any exception into problem details (through <see cref="Problems.WriteAsync"/>, the one
/// problem-details path). Client mistakes the framework throws (a parameter it cannot bind, unreadable or oversized
/// bodies, malformed JSON) become their 4xx; engine refusals their status; anything else a bare 500 without a stack
/// trace (and an error log, since it is a bug).
/// </summary>
public sealed partial class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        switch (exception)
        {
            case EngineException e:
                await Problems.WriteAsync(context, Problems.StatusOf(e.Error), e.Title, e.Message);
                break;
            case BadHttpRequestException e:
                await Problems.WriteAsync(context, e.StatusCode, Problems.TitleOf(e.StatusCode), e.Message);
                break;
            case JsonException e:
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Malformed JSON", e.Message);
                break;
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                // The client went away; nobody reads an answer.
                return true;
            default:
                LogUnhandled(exception, context.Request.Method, context.Request.Path);
                await Problems.WriteAsync(context, StatusCodes.Status500InternalServerError, "Internal error",
                    "The orchestrator failed to handle this request; the error is logged.");
                break;
        }
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private partial void LogUnhandled(Exception ex, string method, string path);
}
