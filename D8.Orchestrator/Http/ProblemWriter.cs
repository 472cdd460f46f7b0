using System.Text.Json;
using D8.Contracts;
using D8.Orchestrator.Gateway;
using Microsoft.AspNetCore.Mvc;

namespace D8.Orchestrator.Http;

/// <summary>
/// The one writer behind <see cref="IProblemDetailsService"/>: every problem answer of the orchestrator ends here, in
/// D8's wire shape (<see cref="Problem"/>, written with the source-generated context, whatever the Accept header).
/// Under <c>/v1</c> the same problem is written in OpenAI's error shape instead (<see cref="OpenAiErrors"/>): a
/// deliberate second shape for the OpenAI-compatible door only, so the official SDKs raise their typed errors.
/// </summary>
internal sealed class ProblemWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        // Nobody to answer: the response is under way, or the caller went away (a worker that shuts down aborts its
        // lease long-poll and deregisters, so the poll ends in an engine refusal nobody reads).
        if (http.Response.HasStarted || http.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        var details = context.ProblemDetails;
        var status = details.Status ?? http.Response.StatusCode;
        var title = details.Title ?? Problems.TitleOf(status);
        var detail = details.Detail ?? $"{http.Request.Method} {http.Request.Path} answered {status}.";
        IReadOnlyDictionary<string, string[]>? errors = details is HttpValidationProblemDetails { Errors.Count: > 0 } validation
            ? new Dictionary<string, string[]>(validation.Errors, StringComparer.Ordinal)
            : null;

        if (OpenAiErrors.IsOpenAiPath(http.Request.Path))
        {
            var message = errors is not null ? string.Join(" ", errors.SelectMany(e => e.Value)) : detail;
            await OpenAiErrors.WriteAsync(http, status, OpenAiErrors.ForStatus(status, message));
            return;
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = Problems.ContentType;
        var problem = Problems.Create(status, title, detail, http.Request.Path, errors);
        try
        {
            await JsonSerializer.SerializeAsync(http.Response.Body, problem, D8JsonContext.Default.Problem, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The caller went away while the answer was written.
        }
    }
}
