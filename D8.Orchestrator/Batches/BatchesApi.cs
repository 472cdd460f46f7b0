using System.Globalization;
using System.Text.Json;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Gateway;
using D8.Orchestrator.Security;
using Microsoft.AspNetCore.Mvc;

namespace D8.Orchestrator.Batches;

/// <summary>OpenAI's Batch API: create, get, list (paged), cancel. All need an API key; errors in OpenAI's shape.</summary>
public static class BatchesApi
{
    public const int DefaultListLimit = 20;
    public const int MaxListLimit = 100;

    public static IEndpointRouteBuilder MapBatchesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/batches").RequireAuthorization(AuthSchemes.ApiKey).WithTags("OpenAI batches");

        api.MapPost("", CreateAsync)
            .WithName("CreateBatch")
            .WithSummary("Start a batch over an uploaded file (endpoint /v1/chat/completions, completion_window 24h, metadata).");

        api.MapGet("", List)
            .WithName("ListBatches")
            .WithSummary("Batches, newest first (?limit= 1-100, default 20; ?after=<batch id>; has_more).");

        api.MapGet("/{id}", (string id, BatchService service) =>
                service.Get(id) is { } batch ? Json(batch) : NoSuchBatch(id))
            .WithName("GetBatch")
            .WithSummary("A batch: status, request_counts, output_file_id and error_file_id.");

        api.MapPost("/{id}/cancel", (string id, BatchService service) =>
            {
                var (batch, cancelled) = service.Cancel(id);
                if (batch is null) return NoSuchBatch(id);
                if (!cancelled && batch.Status != BatchStatus.Cancelling)
                {
                    return OpenAiErrors.Result(StatusCodes.Status409Conflict, OpenAiErrors.BadRequest(
                        $"Batch {id} is {batch.Status}: only a batch that has not ended can be cancelled.", null, "batch_not_cancellable"));
                }
                return Json(batch);
            })
            .WithName("CancelBatch")
            .WithSummary("Cancel a batch: status cancelling, then cancelled once its live tasks have stopped.");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, BatchService service)
    {
        CreateBatchRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(request.Body, BatchWireContext.Default.CreateBatchRequest, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            return Bad(OpenAiErrors.MalformedJson(e));
        }
        if (body is null) return Bad(OpenAiErrors.BadRequest("The body must be a JSON object.", null));
        if (body.Unknown is { Count: > 0 } unknown)
        {
            var name = unknown.Keys.First();
            return Bad(OpenAiErrors.BadRequest($"Unrecognized request argument supplied: {name}", name, "unknown_parameter"));
        }
        if (string.IsNullOrEmpty(body.InputFileId)) return Bad(OpenAiErrors.BadRequest("input_file_id is required.", "input_file_id", "missing_required_parameter"));
        if (body.Endpoint != BatchService.ChatEndpoint)
        {
            return Bad(OpenAiErrors.BadRequest($"endpoint '{body.Endpoint}' is not served: D8 runs batches of {BatchService.ChatEndpoint}.", "endpoint", "invalid_value"));
        }
        if (body.CompletionWindow != BatchService.CompletionWindow)
        {
            return Bad(OpenAiErrors.BadRequest($"completion_window '{body.CompletionWindow}' must be '24h'.", "completion_window", "invalid_value"));
        }
        int? priority = null;
        if (body.Metadata is { } metadata)
        {
            if (metadata.Count > 16 || metadata.Any(m => m.Key.Length > 64 || m.Value.Length > 512))
            {
                return Bad(OpenAiErrors.BadRequest("metadata holds at most 16 pairs, keys up to 64 and values up to 512 characters.", "metadata", "invalid_value"));
            }
            if (metadata.TryGetValue(ChatRequestMapper.PriorityMetadataKey, out var raw))
            {
                if (!ChatRequestMapper.TryParsePriority(raw, out var p))
                {
                    return Bad(OpenAiErrors.BadRequest($"metadata.d8_priority '{raw}' must be a whole number from 0 to 9.", "metadata.d8_priority", "invalid_value"));
                }
                priority = p;
            }
        }
        var file = service.Store.GetFile(body.InputFileId);
        if (file is null || file.Purpose != "batch")
        {
            return Bad(OpenAiErrors.BadRequest(file is null ? $"No such File object: {body.InputFileId}"
                : $"File {body.InputFileId} has purpose '{file.Purpose}'; a batch reads a file uploaded with purpose 'batch'.", "input_file_id", "invalid_value"));
        }
        return Json(service.Create(body.InputFileId, body.Metadata, priority));
    }

    private static IResult List([FromQuery(Name = "limit")] string? raw, string? after, BatchService service)
    {
        var limit = DefaultListLimit;
        if (!string.IsNullOrEmpty(raw) && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxListLimit))
        {
            return Bad(OpenAiErrors.BadRequest($"limit '{raw}' must be a whole number from 1 to {MaxListLimit}.", "limit", "invalid_value"));
        }
        return TypedResults.Json(service.List(string.IsNullOrEmpty(after) ? null : after, limit), BatchWireContext.Default.OpenAiListOpenAiBatch);
    }

    private static IResult Json(OpenAiBatch batch) => TypedResults.Json(batch, BatchWireContext.Default.OpenAiBatch);

    private static IResult Bad(OpenAiError error) => OpenAiErrors.Result(StatusCodes.Status400BadRequest, error);

    private static IResult NoSuchBatch(string id) =>
        OpenAiErrors.Result(StatusCodes.Status404NotFound, OpenAiErrors.NotFound($"No such Batch object: {id}", "batch_not_found") with { Param = "batch_id" });
}
