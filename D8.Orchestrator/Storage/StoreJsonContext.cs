using System.Text.Json;
using System.Text.Json.Serialization;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Storage;

/// <summary>Source-generated JSON for the rows the store keeps (same conventions as the wire types).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(TaskRecord))]
[JsonSerializable(typeof(WorkerRecord))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
