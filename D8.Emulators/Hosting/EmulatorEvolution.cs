using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace D8.Emulators.Hosting;

/// <summary>
/// The emulator's faithful-but-useful behaviour for prompt evolution (see docs/testing.md, Provider emulators):
/// a JSON-mode request whose last user message asks for a <c>{"prompt": …}</c> object gets a transformed prompt, one
/// asking for <c>{"score": …}</c> gets a score, and a plain answer to a request with a system message echoes the
/// system prompt's words. Requests without these shapes get the usual <see cref="EmulatorAnswer"/>.
/// </summary>
public static partial class EmulatorEvolution
{
    /// <summary>Words a mutation adds (as a sentence "Be WORD."); none of them is a filler word.</summary>
    public static readonly IReadOnlyList<string> Vocabulary =
        ["precise", "friendly", "concise", "formal", "helpful", "careful", "vivid", "honest", "patient", "curious", "polite", "clear"];

    /// <summary>The answer's content and its words (one word, one token), for a chat request.</summary>
    public static (string Content, IReadOnlyList<string> Words) Answer(
        string emulatorName, string? system, string? lastUser, int tokens, int fullTokens, bool json)
    {
        if (json && lastUser is not null && lastUser.Contains("{\"prompt\"", StringComparison.Ordinal))
        {
            var prompt = Transform(lastUser);
            return (new JsonObject { ["prompt"] = prompt }.ToJsonString(), Split(prompt));
        }
        if (json && lastUser is not null && lastUser.Contains("{\"score\"", StringComparison.Ordinal))
        {
            var (score, matched) = Score(lastUser);
            var reason = $"{matched} rubric words present";
            return (new JsonObject { ["score"] = score, ["reason"] = reason }.ToJsonString(), Split(reason));
        }
        if (!json && !string.IsNullOrWhiteSpace(system) && tokens >= 2)
        {
            var echo = Split(system);
            var limit = tokens < fullTokens ? tokens : Math.Max(tokens, echo.Count + 2);
            var words = new List<string>(limit) { emulatorName, EmulatorAnswer.Digest(lastUser) };
            words.AddRange(echo.Take(limit - 2));
            words.AddRange(EmulatorAnswer.Words(emulatorName, lastUser, limit - words.Count + 2).Skip(2));
            return (string.Join(' ', words), words);
        }
        var plain = EmulatorAnswer.Words(emulatorName, lastUser, tokens);
        return (json ? EmulatorAnswer.Json(emulatorName, lastUser, tokens) : string.Join(' ', plain), plain);
    }

    /// <summary>
    /// The operator transform: the sentences of every <c>"""</c>-quoted block (first block first, repeats dropped),
    /// then the sentence "Be WORD." with WORD picked by the message's digest; a message containing "shorten" drops the
    /// last sentence instead (when there are two or more); a reflection with <c>expected: "TEXT"</c> lines adds
    /// "Be TEXT." for each instead (so reflection helps exactly when the feedback shows what was expected).
    /// </summary>
    public static string Transform(string message)
    {
        var sentences = new List<string>();
        foreach (var block in Blocks(message))
        {
            foreach (var s in Sentences(block))
            {
                if (!sentences.Contains(s, StringComparer.OrdinalIgnoreCase)) sentences.Add(s);
            }
        }
        var expected = Expected(message);
        if (expected.Count > 0)
        {
            // A reflection that shows what was expected: the model takes the hint (each expected text as "Be TEXT.").
            foreach (var text in expected)
            {
                var sentence = $"Be {text}.";
                if (!sentences.Contains(sentence, StringComparer.OrdinalIgnoreCase)) sentences.Add(sentence);
            }
        }
        else if (message.Contains("shorten", StringComparison.OrdinalIgnoreCase) && sentences.Count > 1)
        {
            sentences.RemoveAt(sentences.Count - 1);
        }
        else
        {
            var word = Vocabulary[(int)(uint.Parse(EmulatorAnswer.Digest(message), NumberStyles.HexNumber, CultureInfo.InvariantCulture) % (uint)Vocabulary.Count)];
            var sentence = $"Be {word}.";
            if (!sentences.Contains(sentence, StringComparer.OrdinalIgnoreCase)) sentences.Add(sentence);
        }
        return string.Join(' ', sentences);
    }

    /// <summary>The texts of the message's <c>expected: "…"</c> lines (a reflect operator's feedback), in order.</summary>
    public static IReadOnlyList<string> Expected(string message) =>
        [.. ExpectedRegex().Matches(message).Select(m => JsonNode.Parse(m.Groups[1].Value)?.GetValue<string>()?.Trim())
            .OfType<string>().Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>
    /// The judge: the share of the first block's words (4+ letters) found in the last block, mapped onto the scale the
    /// message names ("from A to B", default 1 to 10) and rounded.
    /// </summary>
    public static (int Score, int Matched) Score(string message)
    {
        var blocks = Blocks(message).ToList();
        var (min, max) = ScaleOf(message);
        if (blocks.Count < 2) return (min, 0);
        var rubric = Split(blocks[0]).Select(Normalize).Where(w => w.Length >= 4).Distinct().ToList();
        var answer = Split(blocks[^1]).Select(Normalize).ToHashSet();
        var matched = rubric.Count(answer.Contains);
        var share = rubric.Count == 0 ? 0 : (double)matched / rubric.Count;
        return ((int)Math.Round(min + (max - min) * share, MidpointRounding.AwayFromZero), matched);
    }

    private static (int Min, int Max) ScaleOf(string message)
    {
        var m = ScaleRegex().Match(message);
        return m.Success
            && int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out var a)
            && int.TryParse(m.Groups[2].Value, CultureInfo.InvariantCulture, out var b) && b > a
            ? (a, b) : (1, 10);
    }

    private static IEnumerable<string> Blocks(string message)
    {
        var parts = message.Split("\"\"\"");
        for (var i = 1; i < parts.Length; i += 2) yield return parts[i].Trim();
    }

    private static IEnumerable<string> Sentences(string text) =>
        SentenceRegex().Matches(text).Select(m => m.Value.Trim()).Where(s => s.Length > 0);

    private static List<string> Split(string text) => [.. text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)];

    private static string Normalize(string word) => word.Trim('.', ',', ';', ':', '!', '?', '"', '\'', '(', ')').ToLowerInvariant();

    [GeneratedRegex(@"[^.!?]+[.!?]*")]
    private static partial Regex SentenceRegex();

    [GeneratedRegex(@"^\s*expected: (""(?:[^""\\]|\\.)*"")\s*$", RegexOptions.Multiline)]
    private static partial Regex ExpectedRegex();

    [GeneratedRegex(@"from\s+(-?\d+)\s+to\s+(-?\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex ScaleRegex();
}
