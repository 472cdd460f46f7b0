using System.Text.Json;
using System.Text.Json.Serialization;

namespace D8.Orchestrator.Storage;

/// <summary>Source-generated JSON of the SQLite store's data column (same conventions as the wire types; the format of
/// files written before typed rows, which had the same fields).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(TaskRow))]
[JsonSerializable(typeof(WorkerRow))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
