using System.Text.Json;
using System.Text.Json.Serialization;
using D8.Cli.Bench;
using D8.Cli.Configuration;
using D8.Cli.Doctor;

namespace D8.Cli;

/// <summary>Source-generated JSON for the CLI's own documents (config file, doctor and bench reports), snake_case like the API.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ConfigFile))]
[JsonSerializable(typeof(DoctorReport))]
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
