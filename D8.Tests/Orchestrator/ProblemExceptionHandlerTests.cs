using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace D8.Tests.Orchestrator;

/// <summary>
/// The exception handler must never throw itself: a worker that shuts down aborts its lease long-poll and deregisters,
/// so the poll ends in an engine refusal for a caller that is gone.
/// </summary>
public sealed class ProblemExceptionHandlerTests
{
    [Fact]
    public async Task Engine_refusal_for_a_caller_that_went_away_is_handled_without_writing()
    {
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        var context = new DefaultHttpContext { RequestAborted = aborted.Token };
        var body = new MemoryStream();
        context.Response.Body = body;
        var handler = new ProblemExceptionHandler(NullLogger<ProblemExceptionHandler>.Instance);

        var handled = await handler.TryHandleAsync(context, EngineException.NotFound("Worker", "w-gone"), CancellationToken.None);

        Assert.True(handled);
        Assert.Equal(0, body.Length);
    }

    [Fact]
    public async Task Engine_refusal_for_a_present_caller_is_a_problem_answer()
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;
        var handler = new ProblemExceptionHandler(NullLogger<ProblemExceptionHandler>.Instance);

        var handled = await handler.TryHandleAsync(context, EngineException.Conflict("stale lease"), CancellationToken.None);

        Assert.True(handled);
        Assert.Equal(StatusCodes.Status409Conflict, context.Response.StatusCode);
        Assert.Equal(Problems.ContentType, context.Response.ContentType);
        Assert.Contains("stale lease", System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }
}
