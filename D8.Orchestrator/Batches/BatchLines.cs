using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using D8.Contracts;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Gateway;
using D8.Orchestrator.Tasks;

namespace D8.Orchestrator.Batches;

/// <summary>One request line of an input file: its number, custom_id and the task it maps to, or why it cannot run.</summary>
public sealed record BatchLine(int Number, string? CustomId, SubmitTaskRequest? Task, BatchError? Error);

/// <summary>The envelope of a request line: <c>{"custom_id", "method", "url", "body"}</c>.</summary>
public sealed record BatchLineEnvelope
{
    public string? CustomId { get; init; }
    public string? Method { get; init; }
    public string? Url { get; init; }
    public JsonElement? Body { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BatchLineEnvelope))]
internal sealed partial class BatchLineJsonContext : JsonSerializerContext;

/// <summary>
/// Reads an input file one line at a time (never the whole file) and maps each line's body with the gateway's
/// <see cref="ChatRequestMapper"/>, so a batch line is refused exactly as the same body sent to
/// <c>/v1/chat/completions</c> would be (mapping, then the task rules of <see cref="SubmitValidation"/>). Whether a
/// worker serves the model and whether custom_id repeats are asked by the caller (they need the fleet and the whole file).
/// </summary>
public static class BatchLines
{
    /// <summary>Non-empty lines with their 1-based line numbers in the file.</summary>
    public static async IAsyncEnumerable<(int Number, string Text)> ReadAsync(string path,
        [EnumeratorCancellation] CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
            64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var number = 0;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } text)
        {
            number++;
            if (!string.IsNullOrWhiteSpace(text)) yield return (number, text);
        }
    }

    /// <summary>Parses and maps one line; <paramref name="endpoint"/> is the batch's (every line's url must equal it).</summary>
    public static BatchLine Parse(int number, string text, string endpoint, DateTimeOffset now)
    {
        BatchLineEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(text, BatchLineJsonContext.Default.BatchLineEnvelope);
        }
        catch (JsonException e)
        {
            return Bad(number, null, "invalid_json", $"Line {number} is not a JSON request object: {e.Message}", null);
        }
        if (envelope is null) return Bad(number, null, "invalid_json", $"Line {number} is null, not a request object.", null);
        var id = envelope.CustomId;
        if (string.IsNullOrEmpty(id)) return Bad(number, null, "missing_required_parameter", $"Line {number} has no custom_id.", "custom_id");
        if (!string.Equals(envelope.Method, "POST", StringComparison.OrdinalIgnoreCase))
        {
            return Bad(number, id, "invalid_method", $"Line {number}: method must be POST, not '{envelope.Method}'.", "method");
        }
        if (!string.Equals(envelope.Url, endpoint, StringComparison.Ordinal))
        {
            return Bad(number, id, "invalid_url", $"Line {number}: url '{envelope.Url}' differs from the batch's endpoint {endpoint}.", "url");
        }
        if (envelope.Body is not { ValueKind: JsonValueKind.Object } body)
        {
            return Bad(number, id, "missing_required_parameter", $"Line {number}: body must be a JSON object.", "body");
        }
        ChatMapResult mapped;
        try
        {
            mapped = body.Deserialize(OpenAiWireContext.Default.ChatCompletionRequest) is { } request
                ? ChatRequestMapper.Map(request)
                : new ChatMapResult(null, OpenAiErrors.BadRequest("The body must be a JSON object.", null));
        }
        catch (JsonException e)
        {
            mapped = new ChatMapResult(null, OpenAiErrors.MalformedJson(e));
        }
        if (!mapped.IsValid)
        {
            var e = mapped.Error;
            return Bad(number, id, e.Code ?? "invalid_request", $"Line {number}: {e.Message}", e.Param is null ? "body" : "body." + e.Param);
        }
        if (mapped.Task.Stream)
        {
            return Bad(number, id, "invalid_value", $"Line {number}: stream is not available in a batch.", "body.stream");
        }
        // The same task rules as the chat endpoint applies after mapping.
        if (SubmitValidation.Validate(mapped.Task, now) is { Count: > 0 } problems)
        {
            var (field, messages) = problems.First();
            return Bad(number, id, "invalid_value", $"Line {number}: {string.Join(" ", messages)}", "body." + field);
        }
        return new BatchLine(number, id, mapped.Task, null);
    }

    private static BatchLine Bad(int number, string? customId, string code, string message, string? param) =>
        new(number, customId, null, new BatchError(code, message, param, number));
}
