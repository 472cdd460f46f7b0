using System.Globalization;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Http;
using D8.Orchestrator.Security;
using Microsoft.AspNetCore.Mvc;

namespace D8.Orchestrator.Evolution;

/// <summary>Client API for prompt evolution: submit, list, status, best, lineage, stop. All need an API key.</summary>
public static class EvolutionsApi
{
    public static IEndpointRouteBuilder MapEvolutionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/evolutions").RequireAuthorization(AuthSchemes.ApiKey).WithTags("Evolutions");

        api.MapPost("", SubmitAsync)
            .WithName("SubmitEvolution")
            .WithSummary("Start a prompt-evolution run from a spec; 400 lists every problem of a bad spec.")
            .Accepts<EvolutionSpec>("application/json")
            .Produces<SubmitEvolutionResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("", List)
            .WithName("ListEvolutions")
            .WithSummary("The newest runs first (without their specs); ?limit= 1-500, default 50.")
            .Produces<IReadOnlyList<EvolutionView>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/{id}", GetAsync)
            .WithName("GetEvolution")
            .WithSummary("A run's state: generation, fitness per generation, best genome, tasks and tokens spent; ?wait=S returns as soon as the run has ended.")
            .Produces<EvolutionView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/{id}/best", Best)
            .WithName("GetEvolutionBest")
            .WithSummary("The best fully scored genome so far; ?max_tokens=N: the best on the front (scores and tokens) costing at most N tokens per evaluation.")
            .Produces<GenomeView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/{id}/lineage", (string id, EvolutionService service) =>
                TypedResults.Json(service.Get(id).Lineage(), D8JsonContext.Default.LineageView))
            .WithName("GetEvolutionLineage")
            .WithSummary("Every genome with its parents, operator and scores, and each generation's summary (JSON export).")
            .Produces<LineageView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapPost("/{id}/stop", async (string id, EvolutionService service) =>
                TypedResults.Json(await service.StopAsync(id), D8JsonContext.Default.EvolutionView))
            .WithName("StopEvolution")
            .WithSummary("Stop a running run; its queued tasks are cancelled.")
            .Produces<EvolutionView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static IResult Best(string id, [FromQuery(Name = "max_tokens")] string? raw, EvolutionService service)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return service.Get(id).Best() is { } best
                ? TypedResults.Json(best, D8JsonContext.Default.GenomeView)
                : Problems.Result(StatusCodes.Status404NotFound, "Not found", $"Evolution '{id}' has no fully scored genome yet.");
        }
        if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var max) || max < 1)
        {
            return Problems.BadRequest($"max_tokens='{raw}' must be a whole number of at least 1.");
        }
        var pick = service.Get(id).BestWithin(max);
        if (pick.Best is { } fits) return TypedResults.Json(fits, D8JsonContext.Default.GenomeView);
        return Problems.Result(StatusCodes.Status404NotFound, "Not found", pick.Cheapest is { } cheapest
            ? $"No genome on the front of evolution '{id}' costs at most {max} tokens per evaluation; the cheapest, {cheapest.Id} (fitness {cheapest.Fitness?.ToString("0.###", CultureInfo.InvariantCulture)}), costs {cheapest.TokensPerEvaluation}."
            : $"Evolution '{id}' has no fully scored genome yet.");
    }

    private static IResult List([FromQuery(Name = "limit")] string? raw, EvolutionService service)
    {
        var limit = EvolutionService.DefaultListLimit;
        if (!string.IsNullOrEmpty(raw) && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > EvolutionService.MaxListLimit))
        {
            return Problems.BadRequest($"limit='{raw}' must be a whole number from 1 to {EvolutionService.MaxListLimit}.");
        }
        return TypedResults.Json(service.List(limit), D8JsonContext.Default.IReadOnlyListEvolutionView);
    }

    private static async Task<IResult> GetAsync(string id, [FromQuery(Name = "wait")] string? rawWait, EvolutionService service,
        OrchestratorOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var run = service.Get(id);
        var wait = RequestReader.Wait(rawWait, options.MaxWait);
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await service.WhenEnded(id).WaitAsync(wait, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // The wait ended first: answer with the run as it is now.
            }
        }
        return TypedResults.Json(run.View(), D8JsonContext.Default.EvolutionView);
    }

    private static async Task<IResult> SubmitAsync(HttpRequest request, EvolutionService service)
    {
        var spec = await RequestReader.ReadAsync(request, D8JsonContext.Default.EvolutionSpec);
        var errors = EvolutionSpecValidator.Validate(spec);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors, "Invalid evolution spec",
                $"The spec has {errors.Sum(e => e.Value.Length)} problem(s): " + string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        }
        var view = service.Submit(spec);
        var location = $"/api/evolutions/{view.Id}";
        request.HttpContext.Response.Headers.Location = location;
        return TypedResults.Json(new SubmitEvolutionResponse(view.Id, view.State, location), D8JsonContext.Default.SubmitEvolutionResponse,
            statusCode: StatusCodes.Status202Accepted);
    }
}
