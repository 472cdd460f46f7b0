using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace D8.Emulators.Hosting;

/// <summary>The deterministic answer every emulator gives, so tests can assert content and provider attribution.</summary>
/// <remarks>Words: the emulator name, an 8-hex digest of the last user message, then filler words; one word is one token.</remarks>
public static class EmulatorAnswer
{
    private static readonly string[] Filler =
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

    /// <summary>First 8 lowercase hex characters of SHA-256 over the UTF-8 message.</summary>
    public static string Digest(string? lastUserMessage) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lastUserMessage ?? "")))[..8];

    /// <summary>The answer's words (tokens), at least one.</summary>
    public static IReadOnlyList<string> Words(string emulatorName, string? lastUserMessage, int tokens)
    {
        var words = new List<string>(Math.Max(tokens, 1)) { emulatorName };
        if (tokens >= 2) words.Add(Digest(lastUserMessage));
        for (var i = 2; i < tokens; i++) words.Add(Filler[(i - 2) % Filler.Length]);
        return words;
    }

    /// <summary>The full plain-text answer: the words joined by single spaces.</summary>
    public static string Text(string emulatorName, string? lastUserMessage, int tokens) =>
        string.Join(' ', Words(emulatorName, lastUserMessage, tokens));

    /// <summary>The JSON-mode answer: <c>{"emulator":…,"digest":…,"text":…}</c>.</summary>
    public static string Json(string emulatorName, string? lastUserMessage, int tokens) =>
        new JsonObject
        {
            ["emulator"] = emulatorName,
            ["digest"] = Digest(lastUserMessage),
            ["text"] = Text(emulatorName, lastUserMessage, tokens),
        }.ToJsonString();

    /// <summary>Rough prompt token count: whitespace-separated words, at least 1.</summary>
    public static int CountTokens(IEnumerable<string> texts) =>
        Math.Max(1, texts.Sum(t => t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length));

    /// <summary>Splits an answer into the streamed pieces: one per token (JSON answers are cut into equal slices).</summary>
    internal static IReadOnlyList<string> Pieces(string content, IReadOnlyList<string> words, bool json)
    {
        if (!json)
        {
            return [.. words.Select((w, i) => i == 0 ? w : " " + w)];
        }
        var count = Math.Max(1, Math.Min(words.Count, content.Length));
        var pieces = new List<string>(count);
        var start = 0;
        for (var i = 1; i <= count; i++)
        {
            var end = (int)((long)content.Length * i / count);
            pieces.Add(content[start..end]);
            start = end;
        }
        return pieces;
    }
}
