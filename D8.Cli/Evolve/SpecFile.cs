using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using D8.Contracts;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace D8.Cli.Evolve;

/// <summary>
/// Reads an evolution spec file: YAML (.yaml/.yml, or anything that is not JSON) or JSON. YAML is turned into JSON
/// first (plain scalars that look like numbers, booleans or null become those; quoted ones stay text), then read
/// as the same <see cref="EvolutionSpec"/> the API takes, so both formats mean exactly the same.
/// </summary>
public static partial class SpecFile
{
    public static EvolutionSpec Parse(string text, string source)
    {
        var trimmed = text.TrimStart();
        JsonNode? json;
        try
        {
            json = trimmed.StartsWith('{') ? JsonNode.Parse(text) : YamlToJson(text);
        }
        catch (YamlException e)
        {
            throw new CliException($"{source}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}");
        }
        catch (JsonException e)
        {
            throw new CliException($"{source}: not valid JSON: {e.Message}");
        }
        if (json is not JsonObject)
        {
            throw new CliException($"{source}: the spec must be a mapping (an object) at the top level.");
        }
        try
        {
            return json.Deserialize(D8JsonContext.Default.EvolutionSpec)
                ?? throw new CliException($"{source}: the spec is empty.");
        }
        catch (JsonException e)
        {
            throw new CliException($"{source}: {(e.Path is { } p ? p.Replace("$.", "", StringComparison.Ordinal) + ": " : "")}wrong type of value ({FirstSentence(e.Message)})");
        }
    }

    /// <summary>The YAML document as JSON (one document; an empty file is an empty object).</summary>
    public static JsonNode? YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? new JsonObject() : Convert(stream.Documents[0].RootNode);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", Convert(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(Convert)]),
        YamlScalarNode s => Scalar(s),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode s)
    {
        var value = s.Value ?? "";
        if (s.Style != ScalarStyle.Plain) return JsonValue.Create(value);
        if (value is "" or "~" or "null" or "Null" or "NULL") return null;
        if (value is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (value is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (IntegerRegex().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (FloatRegex().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        return JsonValue.Create(value);
    }

    private static string FirstSentence(string message) => message.Split(". ")[0].TrimEnd('.');

    [GeneratedRegex(@"^[-+]?\d+$")]
    private static partial Regex IntegerRegex();

    [GeneratedRegex(@"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")]
    private static partial Regex FloatRegex();
}
