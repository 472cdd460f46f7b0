using D8.Contracts.OpenAi;
using D8.Orchestrator.Batches;
using D8.Orchestrator.Gateway;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace D8.Orchestrator.Files;

/// <summary>
/// <c>POST /v1/files</c>: reads the multipart form one section at a time and copies the <c>file</c> part straight to
/// a temporary file beside its final place, counting bytes, so an upload of 200 MB never sits in memory. Over
/// D8_MAX_FILE_BYTES the answer is 413 at once (by Content-Length when the client sent one, else when the count passes
/// it). Only <c>purpose=batch</c> is accepted.
/// </summary>
public static class FileUpload
{
    /// <summary>Room for the form's boundaries and small fields on top of the file itself.</summary>
    private const long FormOverhead = 64 * 1024;
    private const int MaxFieldChars = 256;

    public static async Task<IResult> UploadAsync(HttpContext context, BatchStore store, BatchOptions options, TimeProvider time,
        D8.Orchestrator.Configuration.OrchestratorOptions orchestrator)
    {
        var request = context.Request;
        var ct = context.RequestAborted;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = options.MaxFileBytes + FormOverhead;
        }
        if (request.ContentLength > options.MaxFileBytes + FormOverhead) return TooLarge(options);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
        {
            return OpenAiErrors.Result(StatusCodes.Status400BadRequest, OpenAiErrors.BadRequest(
                "Upload a file as multipart/form-data with the fields 'file' and 'purpose'.", "file", "invalid_content_type"));
        }
        var id = "file-" + Guid.NewGuid().ToString("N")[..24];
        var partial = store.BodyPath(id) + ".part";
        string? purpose = null, filename = null;
        long bytes = -1;
        try
        {
            var reader = new MultipartReader(boundary, request.Body);
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    return BadField("Every form part needs a Content-Disposition with a name.", null);
                }
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                switch (name)
                {
                    case "file":
                        filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                        bytes = await CopyAsync(section.Body, partial, options.MaxFileBytes, ct);
                        if (bytes < 0) return TooLarge(options);
                        break;
                    case "purpose":
                        purpose = (await new StreamReader(section.Body).ReadToEndAsync(ct)).Trim();
                        if (purpose.Length > MaxFieldChars) purpose = purpose[..MaxFieldChars];
                        break;
                    default:
                        return BadField($"Unknown form field '{name}': send 'file' and 'purpose'.", name);
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(options);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && !ct.IsCancellationRequested)
        {
            return BadField("The multipart form could not be read: " + e.Message, "file");
        }
        finally
        {
            if (bytes < 0 || purpose != "batch") TryDelete(partial);
        }
        if (purpose is null) return BadField("purpose is required: 'batch'.", "purpose", "missing_required_parameter");
        if (purpose != "batch") return BadField($"purpose '{purpose}' is not served by D8: only 'batch' files are accepted.", "purpose", "invalid_value");
        if (bytes < 0) return BadField("file is required: the JSONL file of requests.", "file", "missing_required_parameter");
        File.Move(partial, store.BodyPath(id));
        var now = time.GetUtcNow();
        var file = new OpenAiFile
        {
            Id = id,
            Bytes = bytes,
            CreatedAt = now.ToUnixTimeSeconds(),
            Filename = string.IsNullOrWhiteSpace(filename) ? "upload.jsonl" : Path.GetFileName(filename),
            Purpose = purpose,
            ExpiresAt = (now + orchestrator.RetentionAge).ToUnixTimeSeconds(),
        };
        store.AddFile(file);
        return TypedResults.Json(file, BatchWireContext.Default.OpenAiFile);
    }

    /// <summary>Copies the part to <paramref name="path"/>; the byte count, or -1 once it passes <paramref name="max"/>.</summary>
    private static async Task<long> CopyAsync(Stream body, string path, long max, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            total += read;
            if (total > max) return -1;
            await file.WriteAsync(buffer.AsMemory(0, read), ct);
        }
        await file.FlushAsync(ct);
        file.Flush(flushToDisk: true);
        return total;
    }

    private static IResult TooLarge(BatchOptions options) =>
        OpenAiErrors.Result(StatusCodes.Status413PayloadTooLarge, new OpenAiError(
            $"The file is larger than this orchestrator accepts ({options.MaxFileBytes} bytes, D8_MAX_FILE_BYTES).",
            OpenAiErrors.InvalidRequest, "file", "file_too_large"));

    private static IResult BadField(string message, string? param, string? code = null) =>
        OpenAiErrors.Result(StatusCodes.Status400BadRequest, OpenAiErrors.BadRequest(message, param, code));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover .part file is harmless; the name is never reused.
        }
    }
}
