using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace D8.Emulators.Ollama;

/// <summary>Deterministic metadata for an emulated model, derived from its name.</summary>
internal sealed record OllamaModelInfo(string Name, DateTimeOffset ModifiedAt)
{
    public string Digest { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Name)));

    public long Size { get; } = 500_000_000 + (long)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(Name)), 0) % 500_000_000);

    public string ParameterSize
    {
        get
        {
            var tag = Name[(Name.IndexOf(':') + 1)..];
            return tag.EndsWith('b') && double.TryParse(tag[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                ? tag.ToUpperInvariant()
                : "7B";
        }
    }

    public JsonObject Details() => new()
    {
        ["parent_model"] = "",
        ["format"] = "gguf",
        ["family"] = "llama",
        ["families"] = new JsonArray("llama"),
        ["parameter_size"] = ParameterSize,
        ["quantization_level"] = "Q4_0",
    };

    /// <summary>Adds <c>:latest</c> to a bare name, as Ollama does.</summary>
    public static string Normalize(string name) => name.Contains(':') ? name : name + ":latest";
}
