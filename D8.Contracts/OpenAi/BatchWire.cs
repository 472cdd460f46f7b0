using System.Text.Json;
using System.Text.Json.Serialization;

namespace D8.Contracts.OpenAi;

/// <summary>OpenAI's file object (<c>/v1/files</c>). <see cref="Status"/> is always "processed" (OpenAI deprecated it; SDKs still read it).</summary>
public sealed record OpenAiFile
{
    public required string Id { get; init; }
    public string Object { get; init; } = "file";
    public long Bytes { get; init; }
    public long CreatedAt { get; init; }
    public required string Filename { get; init; }
    /// <summary>"batch" for uploads, "batch_output" for the files a batch writes.</summary>
    public required string Purpose { get; init; }
    public string Status { get; init; } = "processed";
    public long? ExpiresAt { get; init; }
}

/// <summary>OpenAI's answer to <c>DELETE /v1/files/{id}</c>.</summary>
public sealed record OpenAiFileDeleted(string Id, string Object, bool Deleted);

/// <summary>One page of a list (<c>GET /v1/files</c>, <c>GET /v1/batches</c>): newest first; pass <see cref="LastId"/> as <c>after</c>.</summary>
public sealed record OpenAiList<T>
{
    public string Object { get; init; } = "list";
    public required IReadOnlyList<T> Data { get; init; }
    public string? FirstId { get; init; }
    public string? LastId { get; init; }
    public bool HasMore { get; init; }
}

/// <summary>The body of <c>POST /v1/batches</c>.</summary>
public sealed record CreateBatchRequest
{
    public string? InputFileId { get; init; }
    public string? Endpoint { get; init; }
    public string? CompletionWindow { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    /// <summary>Anything else the client sent (refused, naming the field).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>Requests of a batch by outcome so far.</summary>
public sealed record BatchRequestCounts(int Total, int Completed, int Failed);

/// <summary>One problem that failed a whole batch (e.g. its input file is over 50,000 lines).</summary>
public sealed record BatchError(string Code, string Message, string? Param = null, int? Line = null);

/// <summary>The <c>errors</c> of a failed batch.</summary>
public sealed record BatchErrors(IReadOnlyList<BatchError> Data)
{
    public string Object { get; init; } = "list";
}

/// <summary>OpenAI's batch object. Status: validating, failed, in_progress, finalizing, completed, expired, cancelling, cancelled.</summary>
public sealed record OpenAiBatch
{
    public required string Id { get; init; }
    public string Object { get; init; } = "batch";
    public required string Endpoint { get; init; }
    public BatchErrors? Errors { get; init; }
    public required string InputFileId { get; init; }
    public required string CompletionWindow { get; init; }
    public required string Status { get; init; }
    public string? OutputFileId { get; init; }
    public string? ErrorFileId { get; init; }
    public long CreatedAt { get; init; }
    public long? InProgressAt { get; init; }
    public long? ExpiresAt { get; init; }
    public long? FinalizingAt { get; init; }
    public long? CompletedAt { get; init; }
    public long? FailedAt { get; init; }
    public long? ExpiredAt { get; init; }
    public long? CancellingAt { get; init; }
    public long? CancelledAt { get; init; }
    public required BatchRequestCounts RequestCounts { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>The batch statuses, as OpenAI spells them.</summary>
public static class BatchStatus
{
    public const string Validating = "validating";
    public const string Failed = "failed";
    public const string InProgress = "in_progress";
    public const string Finalizing = "finalizing";
    public const string Completed = "completed";
    public const string Expired = "expired";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";

    /// <summary>True once the batch will not change any more.</summary>
    public static bool IsTerminal(string status) => status is Completed or Failed or Expired or Cancelled;
}

/// <summary>Source-generated JSON for the file and batch wire types (snake_case; nulls written, as OpenAI does).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OpenAiFile))]
[JsonSerializable(typeof(OpenAiFileDeleted))]
[JsonSerializable(typeof(OpenAiList<OpenAiFile>))]
[JsonSerializable(typeof(OpenAiList<OpenAiBatch>))]
[JsonSerializable(typeof(CreateBatchRequest))]
[JsonSerializable(typeof(OpenAiBatch))]
public sealed partial class BatchWireContext : JsonSerializerContext;
