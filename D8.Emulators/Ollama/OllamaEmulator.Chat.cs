using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using Microsoft.AspNetCore.Http;

namespace D8.Emulators.Ollama;

public sealed partial class OllamaEmulator
{
    private static readonly TimeSpan DefaultKeepAlive = TimeSpan.FromMinutes(5);

    private async Task ChatAsync(HttpContext context)
    {
        if (!TryReadBody(context, out var body, out var error))
        {
            await error.ConfigureAwait(false);
            return;
        }
        var name = ModelName(body);
        if (name is null)
        {
            await BadRequest(context, "model is required").ConfigureAwait(false);
            return;
        }
        var model = OllamaModelInfo.Normalize(name);
        if (!_installed.ContainsKey(model))
        {
            await NotFound(context, name).ConfigureAwait(false);
            return;
        }

        var fault = Faults.Next();
        switch (fault?.Kind)
        {
            case FaultKind.Hang:
                await HangAsync(context).ConfigureAwait(false);
                return;
            case FaultKind.RateLimited or FaultKind.HttpError:
                await WriteStatusFaultAsync(context, fault).ConfigureAwait(false);
                return;
        }

        var started = Stopwatch.GetTimestamp();
        var messages = body.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Array ? m : default;
        var texts = new List<string>();
        string? lastUser = null, system = null;
        if (messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                var text = message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
                texts.Add(text);
                if (message.TryGetProperty("role", out var role) && role.ValueEquals("user")) lastUser = text;
                if (message.TryGetProperty("role", out var r2) && r2.ValueEquals("system")) system = system is null ? text : system + " " + text;
            }
        }
        var stream = !body.TryGetProperty("stream", out var s) || s.ValueKind != JsonValueKind.False;
        var keepAlive = ParseKeepAlive(body);
        var wasLoaded = _loaded.TryGetValue(model, out var expiry) && expiry > Time.GetUtcNow();
        var loadDuration = wasLoaded ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromMilliseconds(250);

        // Ollama answers an empty message list by just loading (or, with keep_alive 0, unloading) the model.
        if (texts.Count == 0)
        {
            var unload = keepAlive <= TimeSpan.Zero && keepAlive != Timeout.InfiniteTimeSpan;
            UpdateLoaded(model, keepAlive);
            var reply = Line(model, "", done: true);
            reply["done_reason"] = unload ? "unload" : "load";
            await context.WriteJsonAsync(200, reply).ConfigureAwait(false);
            return;
        }

        var numPredict = body.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object
            && o.TryGetProperty("num_predict", out var np) && np.TryGetInt32(out var n) && n > 0 ? n : int.MaxValue;
        var json = body.TryGetProperty("format", out var format)
            && (format.ValueKind == JsonValueKind.Object || (format.ValueKind == JsonValueKind.String && format.ValueEquals("json")));
        var tokens = Math.Min(Math.Max(1, Options.TokensPerAnswer), numPredict);
        var doneReason = tokens < Options.TokensPerAnswer ? "length" : "stop";
        var (content, words) = EmulatorEvolution.Answer(Options.Name, system, lastUser, tokens, Math.Max(1, Options.TokensPerAnswer), json);
        var pieces = EmulatorAnswer.Pieces(content, words, json);
        var delay = fault?.Kind == FaultKind.SlowTokens ? fault.TokenDelay : Options.TokenDelay;
        var promptTokens = EmulatorAnswer.CountTokens(texts);
        var aborted = Aborted(context);

        JsonObject Final(string text)
        {
            var elapsed = Stopwatch.GetElapsedTime(started) + loadDuration;
            var final = Line(model, text, done: true);
            final["done_reason"] = doneReason;
            final["total_duration"] = JsonResponses.Nanoseconds(elapsed);
            final["load_duration"] = JsonResponses.Nanoseconds(loadDuration);
            final["prompt_eval_count"] = promptTokens;
            final["prompt_eval_duration"] = promptTokens * 100_000L;
            final["eval_count"] = pieces.Count;
            final["eval_duration"] = Math.Max(JsonResponses.Nanoseconds(elapsed - loadDuration), pieces.Count * 1_000_000L);
            return final;
        }

        try
        {
            if (!stream)
            {
                var pacer = Pace(delay);
                for (var i = 0; i < pieces.Count; i++) await pacer.NextAsync(aborted).ConfigureAwait(false);
                switch (fault?.Kind)
                {
                    case FaultKind.DropMidStream:
                        context.Abort();
                        return;
                    case FaultKind.ErrorMidStream:
                        await context.WriteJsonAsync(500, new JsonObject { ["error"] = fault.Message }).ConfigureAwait(false);
                        return;
                }
                UpdateLoaded(model, keepAlive);
                await context.WriteJsonAsync(200, Final(content)).ConfigureAwait(false);
                return;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-ndjson";
            var streamPacer = Pace(delay);
            for (var i = 0; i < pieces.Count; i++)
            {
                if (fault?.Kind is FaultKind.DropMidStream or FaultKind.ErrorMidStream && i == fault.AfterChunks)
                {
                    await StrikeMidStreamAsync(context, fault).ConfigureAwait(false);
                    return;
                }
                await streamPacer.NextAsync(aborted).ConfigureAwait(false);
                await context.WriteLineAsync(Line(model, pieces[i], done: false)).ConfigureAwait(false);
            }
            if (fault?.Kind is FaultKind.DropMidStream or FaultKind.ErrorMidStream)
            {
                await StrikeMidStreamAsync(context, fault).ConfigureAwait(false);
                return;
            }
            UpdateLoaded(model, keepAlive);
            await context.WriteLineAsync(Final("")).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away (or the emulator is stopping): nothing left to answer.
            context.Abort();
        }
    }

    private async Task StrikeMidStreamAsync(HttpContext context, Fault fault)
    {
        if (fault.Kind == FaultKind.DropMidStream)
        {
            await DropAsync(context, fault).ConfigureAwait(false);
            return;
        }
        await context.WriteLineAsync(new JsonObject { ["error"] = fault.Message }).ConfigureAwait(false);
    }

    private JsonObject Line(string model, string content, bool done) => new()
    {
        ["model"] = model,
        ["created_at"] = Time.GetUtcNow().ToString("O"),
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
        ["done"] = done,
    };

    private void UpdateLoaded(string model, TimeSpan keepAlive)
    {
        if (keepAlive == Timeout.InfiniteTimeSpan) _loaded[model] = DateTimeOffset.MaxValue;
        else if (keepAlive <= TimeSpan.Zero) _loaded.TryRemove(model, out _);
        else _loaded[model] = Time.GetUtcNow() + keepAlive;
    }

    /// <summary>Ollama's <c>keep_alive</c>: seconds as a number, or a Go duration ("10m", "1h30m"); negative = forever.</summary>
    private static TimeSpan ParseKeepAlive(JsonElement body)
    {
        if (!body.TryGetProperty("keep_alive", out var value)) return DefaultKeepAlive;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds))
            return seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
        if (value.ValueKind != JsonValueKind.String) return DefaultKeepAlive;
        var text = value.GetString() ?? "";
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds))
            return seconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(seconds);
        if (text.StartsWith('-')) return Timeout.InfiniteTimeSpan;
        var total = TimeSpan.Zero;
        var parts = GoDuration().Matches(text);
        if (parts.Count == 0) return DefaultKeepAlive;
        foreach (Match part in parts)
        {
            var amount = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                _ => TimeSpan.FromSeconds(amount),
            };
        }
        return total;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|h|m|s)")]
    private static partial Regex GoDuration();
}
