using System.Text.Json;
using System.Text.Json.Nodes;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using Microsoft.AspNetCore.Http;

namespace D8.Emulators.OpenAi;

public sealed partial class OpenAiEmulator
{
    /// <summary>A validated chat-completions request.</summary>
    private sealed record ChatRequest(string Model, List<string> Texts, string? LastUser, bool Stream, bool IncludeUsage, int? MaxTokens, bool Json, string? System);

    private async Task ChatAsync(HttpContext context)
    {
        var (request, problem) = Parse(context);
        if (request is null)
        {
            await problem!(context).ConfigureAwait(false);
            return;
        }
        if (!KnownModel(request.Model))
        {
            await OpenAiErrors.ModelNotFoundAsync(context, request.Model).ConfigureAwait(false);
            return;
        }

        var fault = Faults.Next();
        switch (fault?.Kind)
        {
            case FaultKind.Hang:
                await HangAsync(context).ConfigureAwait(false);
                return;
            case FaultKind.RateLimited:
                await OpenAiErrors.RateLimitedAsync(context, fault, Options, request.Model).ConfigureAwait(false);
                return;
            case FaultKind.HttpError:
                await OpenAiErrors.StatusAsync(context, fault).ConfigureAwait(false);
                return;
        }

        var full = Math.Max(1, Options.TokensPerAnswer);
        var tokens = Math.Min(full, request.MaxTokens ?? int.MaxValue);
        if (Limiter.Admit(EmulatorAnswer.CountTokens(request.Texts) + (request.MaxTokens ?? tokens)) is { } refusal)
        {
            await OpenAiErrors.LimitExceededAsync(context, refusal, Options, request.Model).ConfigureAwait(false);
            return;
        }
        var finishReason = tokens < full ? "length" : "stop";
        var (content, words) = EmulatorEvolution.Answer(Options.Name, request.System, request.LastUser, tokens, full, request.Json);
        var pieces = EmulatorAnswer.Pieces(content, words, request.Json);
        var delay = fault?.Kind == FaultKind.SlowTokens ? fault.TokenDelay : Options.TokenDelay;
        var promptTokens = EmulatorAnswer.CountTokens(request.Texts);
        var usage = new JsonObject
        {
            ["prompt_tokens"] = promptTokens,
            ["completion_tokens"] = pieces.Count,
            ["total_tokens"] = promptTokens + pieces.Count,
        };
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
        var created = Time.GetUtcNow().ToUnixTimeSeconds();
        var aborted = Aborted(context);
        context.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");

        try
        {
            if (!request.Stream)
            {
                var pacer = Pace(delay);
                for (var i = 0; i < pieces.Count; i++) await pacer.NextAsync(aborted).ConfigureAwait(false);
                switch (fault?.Kind)
                {
                    case FaultKind.DropMidStream:
                        context.Abort();
                        return;
                    case FaultKind.ErrorMidStream:
                        await OpenAiErrors.WriteAsync(context, 500, fault.Message, "server_error").ConfigureAwait(false);
                        return;
                }
                await context.WriteJsonAsync(200, new JsonObject
                {
                    ["id"] = id,
                    ["object"] = "chat.completion",
                    ["created"] = created,
                    ["model"] = request.Model,
                    ["system_fingerprint"] = "fp_d8emulator",
                    ["choices"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0,
                        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["refusal"] = null },
                        ["logprobs"] = null,
                        ["finish_reason"] = finishReason,
                    }),
                    ["usage"] = usage,
                }).ConfigureAwait(false);
                return;
            }

            JsonObject Chunk(JsonObject? delta, string? finish)
            {
                var chunk = new JsonObject
                {
                    ["id"] = id,
                    ["object"] = "chat.completion.chunk",
                    ["created"] = created,
                    ["model"] = request.Model,
                    ["system_fingerprint"] = "fp_d8emulator",
                    ["choices"] = delta is null
                        ? new JsonArray()
                        : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
                };
                // With include_usage, OpenAI sends "usage": null on every chunk but the last.
                if (request.IncludeUsage) chunk["usage"] = delta is null ? usage.DeepClone() : null;
                return chunk;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            await context.WriteEventAsync(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null).ToJsonString()).ConfigureAwait(false);
            var streamPacer = Pace(delay);
            for (var i = 0; i < pieces.Count; i++)
            {
                if (fault?.Kind is FaultKind.DropMidStream or FaultKind.ErrorMidStream && i == fault.AfterChunks)
                {
                    await StrikeMidStreamAsync(context, fault).ConfigureAwait(false);
                    return;
                }
                await streamPacer.NextAsync(aborted).ConfigureAwait(false);
                await context.WriteEventAsync(Chunk(new JsonObject { ["content"] = pieces[i] }, null).ToJsonString()).ConfigureAwait(false);
            }
            if (fault?.Kind is FaultKind.DropMidStream or FaultKind.ErrorMidStream)
            {
                await StrikeMidStreamAsync(context, fault).ConfigureAwait(false);
                return;
            }
            await context.WriteEventAsync(Chunk(new JsonObject(), finishReason).ToJsonString()).ConfigureAwait(false);
            if (request.IncludeUsage) await context.WriteEventAsync(Chunk(null, null).ToJsonString()).ConfigureAwait(false);
            await context.WriteEventAsync("[DONE]").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
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
        await context.WriteEventAsync(OpenAiErrors.Body(fault.Message, "server_error", null, null).ToJsonString()).ConfigureAwait(false);
    }

    /// <summary>Validates the body the way the OpenAI API does, returning the request or a 400 writer.</summary>
    private static (ChatRequest? Request, Func<HttpContext, Task>? Problem) Parse(HttpContext context)
    {
        JsonElement body;
        try
        {
            using var doc = Recorded(context).ParseBody();
            body = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return (null, c => OpenAiErrors.BadRequestAsync(c,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)"));
        }
        if (body.ValueKind != JsonValueKind.Object)
            return (null, c => OpenAiErrors.BadRequestAsync(c, "The request body must be a JSON object."));
        if (!body.TryGetProperty("model", out var m) || m.ValueKind != JsonValueKind.String || m.GetString() is not { Length: > 0 } model)
            return (null, c => OpenAiErrors.BadRequestAsync(c, "you must provide a model parameter", "model"));
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            return (null, c => OpenAiErrors.BadRequestAsync(c, "'messages' must contain at least one message.", "messages", "invalid_value"));

        var texts = new List<string>();
        string? lastUser = null, system = null;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                return (null, c => OpenAiErrors.BadRequestAsync(c, "Each message must be an object with a 'role'.", "messages", "invalid_value"));
            var text = ContentText(message);
            texts.Add(text);
            if (role.ValueEquals("user")) lastUser = text;
            if (role.ValueEquals("system")) system = system is null ? text : system + " " + text;
        }

        if (body.TryGetProperty("temperature", out var t) && t.ValueKind != JsonValueKind.Null
            && (!t.TryGetDouble(out var temperature) || temperature is < 0 or > 2))
            return (null, c => OpenAiErrors.BadRequestAsync(c,
                $"Invalid 'temperature': expected a number between 0 and 2, but got {t.GetRawText()} instead.", "temperature", "invalid_value"));

        int? maxTokens = null;
        foreach (var key in (string[])["max_completion_tokens", "max_tokens"])
        {
            if (!body.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            if (!v.TryGetInt32(out var max) || max < 1)
                return (null, c => OpenAiErrors.BadRequestAsync(c, $"Invalid '{key}': integer below minimum value. Expected a value >= 1.", key, "integer_below_min_value"));
            maxTokens ??= max;
        }

        var stream = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var includeUsage = stream && body.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
            && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        var json = body.TryGetProperty("response_format", out var rf) && rf.ValueKind == JsonValueKind.Object
            && rf.TryGetProperty("type", out var rft) && (rft.ValueEquals("json_object") || rft.ValueEquals("json_schema"));
        return (new ChatRequest(model, texts, lastUser, stream, includeUsage, maxTokens, json, system), null);
    }
}
