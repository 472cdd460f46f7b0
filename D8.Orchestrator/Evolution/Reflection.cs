using System.Globalization;
using System.Text;
using System.Text.Json;
using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// What a reflect operator is shown of its parent (GEPA's reflective mutation): the parent's weakest cases — lowest
/// score first, then heavier weight, then case order; only cases below 1 — each with its input, the answer the parent's
/// prompt produced, the checker's verdict and the expected value (or the judge's reason). Texts are JSON-quoted (so no
/// case can close the prompt's <c>"""</c> block) and trimmed: each answer and input to a share of the budget, and the
/// whole feedback to <see cref="EvolutionSettings.ReflectionMaxChars"/> (at least one case is always shown).
/// </summary>
public static class Reflection
{
    /// <summary>Longest answer kept on a genome (what a reflection can show of it).</summary>
    public const int StoredAnswerChars = 1000;

    /// <summary>The cases to show, weakest first (empty when the parent passes every case).</summary>
    public static IReadOnlyList<int> Weakest(Genome parent, EvolutionSettings s) =>
        [.. Enumerable.Range(0, parent.Scores.Length)
            .Where(c => (parent.Scores[c] ?? 0) < 1)
            .OrderBy(c => parent.Scores[c] ?? 0).ThenByDescending(s.WeightOf).ThenBy(c => c)
            .Take(s.ReflectionCases)];

    /// <summary>The feedback text of <paramref name="cases"/> and the cases it really holds (the budget may cut some).</summary>
    public static (string Text, IReadOnlyList<int> Shown) Feedback(Genome parent, IReadOnlyList<int> cases, EvolutionSettings s)
    {
        var text = new StringBuilder();
        var shown = new List<int>();
        var share = Math.Max(80, s.ReflectionMaxChars / Math.Max(1, cases.Count) / 2);
        foreach (var c in cases)
        {
            var block = Case(parent, c, s, share);
            if (shown.Count > 0 && text.Length + block.Length > s.ReflectionMaxChars) break;
            text.Append(block);
            shown.Add(c);
        }
        return (text.ToString().TrimEnd(), shown);
    }

    private static string Case(Genome parent, int c, EvolutionSettings s, int share)
    {
        var @case = s.Cases[c];
        var b = new StringBuilder();
        var name = @case.Name is { Length: > 0 } n ? " " + Quote(n, 80) : "";
        b.Append(CultureInfo.InvariantCulture, $"Case {c}{name}: score {parent.Scores[c] ?? 0:0.##} of 1\n");
        b.Append("  input: ").Append(Quote(OperatorPrompts.QuestionOf(@case), share)).Append('\n');
        if (parent.Answers?.GetValueOrDefault(c) is { } answer) b.Append("  answer: ").Append(Quote(answer, share)).Append('\n');
        if (parent.Notes?.GetValueOrDefault(c) is { } note) b.Append("  verdict: ").Append(note).Append('\n');
        else b.Append("  verdict: ").Append(Verdict(@case.Checker!)).Append('\n');
        if (Expected(@case.Checker!, parent.Reasons?.GetValueOrDefault(c)) is { } expected) b.Append("  ").Append(expected).Append('\n');
        return b.ToString();
    }

    private static string Verdict(EvolutionChecker k) => k.Type switch
    {
        "exact" => "the answer is not exactly the expected text",
        "contains" => "the answer does not contain the expected text",
        "regex" => "the answer does not match the pattern",
        "json_schema" => "the answer is not JSON valid against the schema",
        "numeric" => "the answer's first number is not the expected one",
        _ => "the judge scored it low",
    };

    /// <summary>The line naming what was wanted: the expected value, pattern, schema, or the judge's reason.</summary>
    private static string? Expected(EvolutionChecker k, string? reason) => k.Type switch
    {
        "exact" or "contains" => "expected: " + Quote(Checkers.TextOf(k.Expected!.Value), 500),
        "numeric" => "expected: " + Checkers.TextOf(k.Expected!.Value) + (k.Tolerance is > 0 and var t ? string.Create(CultureInfo.InvariantCulture, $" (± {t})") : ""),
        "regex" => "expected pattern: " + Quote(k.Pattern!, 500),
        "json_schema" => "expected schema: " + Trim(k.Schema!.Value.GetRawText(), 800),
        _ => reason is null ? null : "judge's reason: " + Quote(reason, 500),
    };

    /// <summary>The text trimmed and JSON-quoted (only what JSON needs escaped, so it reads as written).</summary>
    public static string Quote(string text, int max)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStringValue(Trim(text, max));
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The text cut to <paramref name="max"/> characters, with "…" where it was cut.</summary>
    public static string Trim(string text, int max) => text.Length <= max ? text : text[..Math.Max(0, max - 1)] + "…";
}
