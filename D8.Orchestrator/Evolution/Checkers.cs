using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using D8.Contracts;
using Json.Schema;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Scores an answer against a case's checker, 0 to 1. Runs in the orchestrator; the judge checker is the exception
/// (it needs a judge task, see <see cref="OperatorPrompts.Judge"/>), so <see cref="Score"/> returns null for it.
/// </summary>
public static partial class Checkers
{
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);
    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);

    /// <summary>Most parsed schemas kept at once.</summary>
    public const int MaxCachedSchemas = 256;

    /// <summary>Schemas held now (for tests).</summary>
    internal static int CachedSchemas => Schemas.Count;

    /// <summary>The score of <paramref name="answer"/>, or null for a judge checker.</summary>
    public static double? Score(EvolutionChecker checker, string answer)
    {
        switch (checker.Type)
        {
            case "exact":
                return string.Equals(answer.Trim(), TextOf(checker.Expected!.Value).Trim(),
                    checker.IgnoreCase == true ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal) ? 1 : 0;
            case "contains":
                return answer.Contains(TextOf(checker.Expected!.Value),
                    checker.IgnoreCase == false ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase) ? 1 : 0;
            case "regex":
                try
                {
                    var options = checker.IgnoreCase == true ? RegexOptions.IgnoreCase : RegexOptions.None;
                    return Regex.IsMatch(answer, checker.Pattern!, options, RegexTimeout) ? 1 : 0;
                }
                catch (RegexMatchTimeoutException)
                {
                    return 0;
                }
            case "json_schema":
                return JsonSchemaValid(checker.Schema!.Value, answer) ? 1 : 0;
            case "numeric":
                TryNumber(checker.Expected!.Value, out var expected);
                var m = NumberRegex().Match(answer);
                return m.Success && double.TryParse(m.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var got)
                    && Math.Abs(got - expected) <= (checker.Tolerance ?? 0) + 1e-12 ? 1 : 0;
            default:
                return null;
        }
    }

    /// <summary>Whether the answer (fences and text around the outermost braces ignored) is JSON valid against the schema.</summary>
    public static bool JsonSchemaValid(JsonElement schemaElement, string answer)
    {
        var text = schemaElement.GetRawText();
        // Bounded: specs come from clients; past the bound the cache starts over rather than grow.
        if (Schemas.Count >= MaxCachedSchemas && !Schemas.ContainsKey(text)) Schemas.Clear();
        var schema = Schemas.GetOrAdd(text, t => JsonSchema.FromText(t));
        if (ExtractJson(answer) is not { } json) return false;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return schema.Evaluate(doc.RootElement).IsValid;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The JSON object in a model's reply: the text itself, or inside ``` fences, or from the first { to the last }.</summary>
    public static string? ExtractJson(string reply)
    {
        var text = reply.Trim();
        if (text.StartsWith("```", StringComparison.Ordinal))
        {
            var firstLine = text.IndexOf('\n');
            var end = text.LastIndexOf("```", StringComparison.Ordinal);
            if (firstLine > 0 && end > firstLine) text = text[(firstLine + 1)..end].Trim();
        }
        if (text.Length > 0 && (text[0] == '{' || text[0] == '[')) return text;
        var open = text.IndexOf('{');
        var close = text.LastIndexOf('}');
        return open >= 0 && close > open ? text[open..(close + 1)] : null;
    }

    /// <summary>A JSON object reply's property, or null when the reply is not such an object.</summary>
    public static JsonNode? Property(string reply, string name)
    {
        if (ExtractJson(reply) is not { } json) return null;
        try
        {
            return JsonNode.Parse(json) is JsonObject o ? o[name] : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string TextOf(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString() ?? "",
        JsonValueKind.Number => e.GetRawText(),
        _ => "",
    };

    public static bool TryNumber(JsonElement e, out double value)
    {
        value = 0;
        return e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetDouble(out value),
            JsonValueKind.String => double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    [GeneratedRegex(@"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")]
    private static partial Regex NumberRegex();
}
