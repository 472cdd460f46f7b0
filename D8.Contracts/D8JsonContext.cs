using System.Text.Json;
using System.Text.Json.Serialization;

namespace D8.Contracts;

/// <summary>RFC 7807 problem details as the orchestrator sends them.</summary>
public sealed record Problem
{
    public string? Type { get; init; }
    public string? Title { get; init; }
    public int? Status { get; init; }
    public string? Detail { get; init; }
    public string? Instance { get; init; }
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }
    /// <summary>On a 503 from a standby orchestrator: the URL of the active one (also in the X-D8-Active header).</summary>
    public string? ActiveUrl { get; init; }
}

/// <summary>Source-generated JSON for every wire type: snake_case names, enums as strings, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    AllowTrailingCommas = false)]
[JsonSerializable(typeof(SubmitTaskRequest))]
[JsonSerializable(typeof(SubmitTaskResponse))]
[JsonSerializable(typeof(TaskView))]
[JsonSerializable(typeof(TaskPage))]
[JsonSerializable(typeof(RegisterWorkerRequest))]
[JsonSerializable(typeof(RegisterWorkerResponse))]
[JsonSerializable(typeof(HeartbeatRequest))]
[JsonSerializable(typeof(HeartbeatResponse))]
[JsonSerializable(typeof(LeaseRequest))]
[JsonSerializable(typeof(LeaseBatch))]
[JsonSerializable(typeof(CompleteTaskRequest))]
[JsonSerializable(typeof(FailTaskRequest))]
[JsonSerializable(typeof(RelayRequest))]
[JsonSerializable(typeof(WorkerView))]
[JsonSerializable(typeof(IReadOnlyList<WorkerView>))]
[JsonSerializable(typeof(StatsView))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(TaskResult))]
[JsonSerializable(typeof(EvolutionSpec))]
[JsonSerializable(typeof(SubmitEvolutionResponse))]
[JsonSerializable(typeof(EvolutionView))]
[JsonSerializable(typeof(IReadOnlyList<EvolutionView>))]
[JsonSerializable(typeof(GenomeView))]
[JsonSerializable(typeof(LineageView))]
public sealed partial class D8JsonContext : JsonSerializerContext;
