using System.Text.Json;
using System.Text.Json.Serialization;
using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>A run's own row (evolution_runs.data): the spec as accepted, its state and counters.</summary>
public sealed class RunRecord
{
    public required string Id { get; init; }
    public required EvolutionSpec Spec { get; init; }
    public EvolutionState State { get; set; }
    public string? StopReason { get; set; }
    public long TokensUsed { get; set; }
    /// <summary>Evaluations answered from the evaluation cache (no task).</summary>
    public long CacheHits { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>Tasks the run issued, frozen when it ends (views of a finished run read it from the store).</summary>
    public long? TasksSubmitted { get; set; }
    /// <summary>When each generation's first task was issued (for the generation spans and the idle figure).</summary>
    public Dictionary<int, DateTimeOffset> GenerationStarted { get; set; } = [];
    /// <summary>When each generation had every fitness.</summary>
    public Dictionary<int, DateTimeOffset> GenerationFinished { get; set; } = [];
}

/// <summary>Source-generated JSON for the evolution rows (same conventions as the wire types).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(RunRecord))]
[JsonSerializable(typeof(Genome))]
internal sealed partial class EvolutionJsonContext : JsonSerializerContext;
