using System.Globalization;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Batches;
using D8.Orchestrator.Gateway;
using D8.Orchestrator.Security;
using Microsoft.AspNetCore.Mvc;

namespace D8.Orchestrator.Files;

/// <summary>OpenAI's Files API for batches: upload, list, get, content, delete. All need an API key.</summary>
public static class FilesApi
{
    public const int MaxListLimit = 10_000;

    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/files").RequireAuthorization(AuthSchemes.ApiKey).WithTags("OpenAI files");

        api.MapPost("", FileUpload.UploadAsync)
            .WithName("UploadFile")
            .WithSummary("Upload a JSONL file of batch requests (multipart: file, purpose=batch); 413 over D8_MAX_FILE_BYTES.")
            .DisableAntiforgery();

        api.MapGet("", List)
            .WithName("ListFiles")
            .WithSummary("Files, newest first (?purpose=, ?limit= 1-10000, ?order=asc|desc, ?after=<file id>).");

        api.MapGet("/{id}", (string id, BatchStore store) =>
                store.GetFile(id) is { } file ? TypedResults.Json(file, BatchWireContext.Default.OpenAiFile) : NoSuchFile(id))
            .WithName("GetFile")
            .WithSummary("A file's metadata.");

        api.MapGet("/{id}/content", (string id, BatchStore store) =>
                store.GetFile(id) is not null && File.Exists(store.BodyPath(id))
                    ? Results.File(store.BodyPath(id), "application/jsonl", enableRangeProcessing: false)
                    : NoSuchFile(id))
            .WithName("GetFileContent")
            .WithSummary("A file's content (an input file, or a batch's output or error file).");

        api.MapDelete("/{id}", (string id, BatchStore store) =>
            {
                if (store.GetFile(id) is null) return NoSuchFile(id);
                if (store.InUse(id))
                {
                    return OpenAiErrors.Result(StatusCodes.Status409Conflict, OpenAiErrors.BadRequest(
                        $"File {id} is the input of a batch that has not ended; cancel the batch first.", "file_id", "file_in_use"));
                }
                store.DeleteFile(id);
                return TypedResults.Json(new OpenAiFileDeleted(id, "file", true), BatchWireContext.Default.OpenAiFileDeleted);
            })
            .WithName("DeleteFile")
            .WithSummary("Delete a file (409 while a running batch reads it).");
        return app;
    }

    private static IResult List([FromQuery(Name = "limit")] string? raw, string? order, string? purpose, string? after, BatchStore store)
    {
        var limit = MaxListLimit;
        if (!string.IsNullOrEmpty(raw) && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxListLimit))
        {
            return OpenAiErrors.Result(StatusCodes.Status400BadRequest,
                OpenAiErrors.BadRequest($"limit '{raw}' must be a whole number from 1 to {MaxListLimit}.", "limit", "invalid_value"));
        }
        if (order is not (null or "" or "asc" or "desc"))
        {
            return OpenAiErrors.Result(StatusCodes.Status400BadRequest,
                OpenAiErrors.BadRequest($"order '{order}' must be asc or desc.", "order", "invalid_value"));
        }
        var rows = store.ListFiles(string.IsNullOrEmpty(purpose) ? null : purpose, string.IsNullOrEmpty(after) ? null : after, limit, order == "asc");
        var page = rows.Take(limit).ToList();
        return TypedResults.Json(new OpenAiList<OpenAiFile>
        {
            Data = page,
            FirstId = page.Count > 0 ? page[0].Id : null,
            LastId = page.Count > 0 ? page[^1].Id : null,
            HasMore = rows.Count > limit,
        }, BatchWireContext.Default.OpenAiListOpenAiFile);
    }

    private static IResult NoSuchFile(string id) =>
        OpenAiErrors.Result(StatusCodes.Status404NotFound, OpenAiErrors.NotFound($"No such File object: {id}", "file_not_found") with { Param = "file_id" });
}
