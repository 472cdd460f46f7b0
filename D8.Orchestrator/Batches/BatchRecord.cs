using System.Text.Json;
using System.Text.Json.Serialization;
using D8.Contracts.OpenAi;

namespace D8.Orchestrator.Batches;

/// <summary>
/// A batch as stored (the <c>data</c> column of <c>openai_batches</c>): what the client asked for, where it is, and
/// the two marks a restart resumes from: <see cref="FedThrough"/> (no line after it was ever submitted) and
/// <see cref="Ending"/> (the terminal status a cancel or the completion window asked for). The per-line outcomes are
/// rows of <c>openai_batch_results</c>, not part of this record.
/// </summary>
public sealed class BatchRecord
{
    public required string Id { get; init; }
    public required string InputFileId { get; init; }
    public required string Endpoint { get; init; }
    public required string CompletionWindow { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public int Priority { get; init; }
    public string Status { get; set; } = BatchStatus.Validating;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
    public DateTimeOffset? InProgressAt { get; set; }
    public DateTimeOffset? FinalizingAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset? FailedAt { get; set; }
    public DateTimeOffset? ExpiredAt { get; set; }
    public DateTimeOffset? CancellingAt { get; set; }
    public DateTimeOffset? CancelledAt { get; set; }
    /// <summary>Requests (non-empty lines) in the input file, known once validation has read it.</summary>
    public int Total { get; set; }
    public int Completed { get; set; }
    public int Failed { get; set; }
    /// <summary>The last line number the feeder may have submitted (written before those lines are submitted).</summary>
    public int FedThrough { get; set; }
    /// <summary>Null while the batch runs to completion; "cancelled" or "expired" once it was told to stop.</summary>
    public string? Ending { get; set; }
    public string? OutputFileId { get; set; }
    public string? ErrorFileId { get; set; }
    public List<BatchError>? Errors { get; set; }

    /// <summary>When the batch reached a terminal status (retention counts from here), or null.</summary>
    [JsonIgnore]
    public DateTimeOffset? FinishedAt => CompletedAt ?? FailedAt ?? ExpiredAt ?? CancelledAt;

    /// <summary>OpenAI's batch object for this record.</summary>
    public OpenAiBatch View() => new()
    {
        Id = Id,
        Endpoint = Endpoint,
        Errors = Errors is { Count: > 0 } errors ? new BatchErrors(errors) : null,
        InputFileId = InputFileId,
        CompletionWindow = CompletionWindow,
        Status = Status,
        OutputFileId = OutputFileId,
        ErrorFileId = ErrorFileId,
        CreatedAt = CreatedAt.ToUnixTimeSeconds(),
        InProgressAt = InProgressAt?.ToUnixTimeSeconds(),
        ExpiresAt = ExpiresAt.ToUnixTimeSeconds(),
        FinalizingAt = FinalizingAt?.ToUnixTimeSeconds(),
        CompletedAt = CompletedAt?.ToUnixTimeSeconds(),
        FailedAt = FailedAt?.ToUnixTimeSeconds(),
        ExpiredAt = ExpiredAt?.ToUnixTimeSeconds(),
        CancellingAt = CancellingAt?.ToUnixTimeSeconds(),
        CancelledAt = CancelledAt?.ToUnixTimeSeconds(),
        RequestCounts = new BatchRequestCounts(Total, Completed, Failed),
        Metadata = Metadata,
    };
}

/// <summary>Source-generated JSON for the batch rows.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BatchRecord))]
internal sealed partial class BatchStoreJsonContext : JsonSerializerContext;
