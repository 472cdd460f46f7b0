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
        catch (SpecRefusedException e)
        {
            throw new CliException($"{source}: {e.Message}");
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

    /// <summary>Most nodes a spec may expand to (aliases included): a few aliases cannot make it billions (billion laughs).</summary>
    public const int MaxNodes = 100_000;

    /// <summary>The YAML document as JSON (one document; an empty file is an empty object). Duplicate keys are refused.</summary>
    public static JsonNode? YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (ArgumentException)
        {
            // YamlDotNet's mapping is a dictionary: a repeated key surfaces as "same key already added".
            throw new SpecRefusedException("a mapping repeats a key (each key may appear once)");
        }
        var budget = MaxNodes;
        return stream.Documents.Count == 0 ? new JsonObject() : Convert(stream.Documents[0].RootNode, ref budget);
    }

    private static JsonNode? Convert(YamlNode node, ref int budget)
    {
        if (--budget < 0)
        {
            throw new SpecRefusedException($"the spec expands to more than {MaxNodes} values (aliases repeated?)");
        }
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    var name = ((YamlScalarNode)key).Value ?? "";
                    if (obj.ContainsKey(name))
                    {
                        throw new SpecRefusedException($"line {key.Start.Line}: the key '{name}' appears twice in the same mapping");
                    }
                    obj[name] = Convert(value, ref budget);
                }
                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                foreach (var item in seq.Children) array.Add(Convert(item, ref budget));
                return array;
            case YamlScalarNode s:
                return Scalar(s);
            default:
                return null;
        }
    }

    /// <summary>A spec refused before it is read: repeated keys, or more values than <see cref="MaxNodes"/>.</summary>
    private sealed class SpecRefusedException(string message) : Exception(message);

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
