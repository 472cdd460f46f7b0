using System.Net;
using System.Text.Json;
using D8.Contracts;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace D8.Tests.Orchestrator;

/// <summary>
/// The exception handler must never throw itself: a worker that shuts down aborts its lease long-poll and deregisters,
/// so the poll ends in an engine refusal for a caller that is gone.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ProblemExceptionHandlerTests
{
    /// <summary>The orchestrator's problem-details registration, the path every problem answer takes.</summary>
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().AddD8ProblemDetails().BuildServiceProvider();

    [Fact]
    public async Task Engine_refusal_for_a_caller_that_went_away_is_handled_without_writing()
    {
        using var aborted = new CancellationTokenSource();
        await aborted.CancelAsync();
        var context = new DefaultHttpContext { RequestAborted = aborted.Token, RequestServices = Services };
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
        var context = new DefaultHttpContext { RequestServices = Services };
        var body = new MemoryStream();
        context.Response.Body = body;
        var handler = new ProblemExceptionHandler(NullLogger<ProblemExceptionHandler>.Instance);

        var handled = await handler.TryHandleAsync(context, EngineException.Conflict("stale lease"), CancellationToken.None);

        Assert.True(handled);
        Assert.Equal(StatusCodes.Status409Conflict, context.Response.StatusCode);
        Assert.Equal(Problems.ContentType, context.Response.ContentType);
        Assert.Contains("stale lease", System.Text.Encoding.UTF8.GetString(body.ToArray()));
    }

    [Fact]
    public async Task A_parameter_the_framework_cannot_bind_is_a_problem_naming_it_on_api_and_openai_routes()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddD8ProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        await using var app = builder.Build();
        app.UseExceptionHandler();
        app.MapGet("/api/count", (int n) => n);
        app.MapGet("/v1/count", (int n) => n);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        // An SSE client gets the same problem: the one writer answers whatever the Accept header asks for.
        using var api = new HttpRequestMessage(HttpMethod.Get, "/api/count?n=many");
        api.Headers.Accept.ParseAdd("text/event-stream");
        using var apiAnswer = await http.SendAsync(api);
        var problem = JsonSerializer.Deserialize(await apiAnswer.Content.ReadAsStringAsync(), D8JsonContext.Default.Problem)!;
        Assert.Equal(HttpStatusCode.BadRequest, apiAnswer.StatusCode);
        Assert.Equal(Problems.ContentType, apiAnswer.Content.Headers.ContentType?.MediaType);
        Assert.Equal(400, problem.Status);
        Assert.Contains("\"many\"", problem.Detail, StringComparison.Ordinal);
        Assert.Equal("/api/count", problem.Instance);

        using var openAi = await http.GetAsync("/v1/count");
        var error = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(HttpStatusCode.BadRequest, openAi.StatusCode);
        Assert.Contains("n", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }
}
