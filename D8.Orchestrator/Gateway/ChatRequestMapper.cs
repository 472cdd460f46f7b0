using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using D8.Contracts;
using ContractMessage = D8.Contracts.ChatMessage;

namespace D8.Orchestrator.Gateway;

/// <summary>A mapped chat request: the D8 task to submit, or the OpenAI error naming the first bad field.</summary>
public sealed record ChatMapResult(SubmitTaskRequest? Task, OpenAiError? Error)
{
    [MemberNotNullWhen(true, nameof(Task))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsValid => Task is not null;
}

/// <summary>
/// Turns an OpenAI chat-completions request into a D8 <see cref="SubmitTaskRequest"/>, or into the 400 OpenAI would
/// give, naming the field. Parameters D8 does not run are refused by name (never silently ignored), except at the
/// value that changes nothing (<c>n: 1</c>, <c>tools: []</c>, <c>logprobs: false</c>, penalties of 0…), which many
/// clients send by default. Pure: whether a worker serves the model is the caller's question.
/// </summary>
public static class ChatRequestMapper
{
    /// <summary>The label a call's <c>user</c> is kept under; <c>metadata</c> entries keep their own keys.</summary>
    public const string UserLabel = "user";
    /// <summary>The metadata key that sets the task's priority (0–9), like the <c>x-d8-priority</c> header.</summary>
    public const string PriorityMetadataKey = "d8_priority";

    /// <summary>Parses a JSON body (one HTTP body or one batch line's <c>body</c>) and maps it.</summary>
    public static ChatMapResult MapJson(ReadOnlySpan<byte> utf8Json)
    {
        ChatCompletionRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(utf8Json, OpenAiWireContext.Default.ChatCompletionRequest);
        }
        catch (JsonException ex)
        {
            return Fail(OpenAiErrors.MalformedJson(ex));
        }
        return request is null ? Fail(OpenAiErrors.BadRequest("The body must be a JSON object.", null)) : Map(request);
    }

    /// <summary>Validates <paramref name="request"/> and maps it; the first problem found is the error.</summary>
    public static ChatMapResult Map(ChatCompletionRequest request)
    {
        if (UnsupportedParameter(request) is { } refused)
        {
            return Fail(refused);
        }
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return Fail(OpenAiErrors.BadRequest("You must provide a model parameter.", "model", "missing_required_parameter"));
        }
        if (request.Model.Length > 200)
        {
            return Fail(OpenAiErrors.BadRequest("model must be at most 200 characters.", "model", "invalid_value"));
        }
        var (provider, model) = SplitModel(request.Model);
        if (request.Messages is not { Count: > 0 } rawMessages)
        {
            return Fail(OpenAiErrors.BadRequest("messages must be a non-empty array.", "messages", "missing_required_parameter"));
        }
        var messages = new List<ContractMessage>(rawMessages.Count);
        for (var i = 0; i < rawMessages.Count; i++)
        {
            var (message, error) = MapMessage(rawMessages[i], i);
            if (error is not null)
            {
                return Fail(error);
            }
            messages.Add(message!);
        }
        var maxParam = request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";
        var maxTokens = request.MaxCompletionTokens ?? request.MaxTokens;
        if (maxTokens is { } mt && (mt < 1 || mt > 1_000_000))
        {
            return Fail(OpenAiErrors.BadRequest($"{maxParam} must be between 1 and 1000000.", maxParam, "invalid_value"));
        }
        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            return Fail(OpenAiErrors.BadRequest("temperature must be between 0 and 2.", "temperature", "invalid_value"));
        }
        if (request.TopP is { } p && (double.IsNaN(p) || p < 0 || p > 1))
        {
            return Fail(OpenAiErrors.BadRequest("top_p must be between 0 and 1.", "top_p", "invalid_value"));
        }
        var (stop, stopError) = MapStop(request.Stop);
        if (stopError is not null)
        {
            return Fail(stopError);
        }
        var jsonMode = false;
        switch (request.ResponseFormat?.Type)
        {
            case null or "text":
                break;
            case "json_object":
                jsonMode = true;
                break;
            case "json_schema":
                return Fail(OpenAiErrors.Unsupported("response_format",
                    "json_schema (structured outputs) is not run on every provider; use {\"type\": \"json_object\"} (json mode) and describe the schema in the prompt."));
            default:
                return Fail(OpenAiErrors.BadRequest(
                    $"response_format.type '{request.ResponseFormat.Type}' must be text or json_object.", "response_format.type", "invalid_value"));
        }
        if (request.StreamOptions is not null && request.Stream != true)
        {
            return Fail(OpenAiErrors.BadRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "stream_options", "invalid_value"));
        }
        var (labels, priority, labelError) = MapLabels(request.User, request.Metadata);
        if (labelError is not null)
        {
            return Fail(labelError);
        }
        return new ChatMapResult(new SubmitTaskRequest
        {
            Messages = messages,
            Model = model,
            Provider = provider,
            MaxTokens = maxTokens,
            Temperature = request.Temperature,
            TopP = request.TopP,
            Stop = stop,
            Seed = request.Seed,
            JsonMode = jsonMode,
            Stream = request.Stream == true,
            Priority = priority,
            Labels = labels,
        }, null);
    }

    /// <summary>
    /// <c>provider/model</c> pins a provider (<c>groq/llama-3.1-8b-instant</c>); anything else is an exact model id
    /// (which may itself hold a slash, such as <c>meta-llama/llama-4-scout</c>).
    /// </summary>
    public static (string? Provider, string Model) SplitModel(string model)
    {
        var slash = model.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && slash < model.Length - 1 && ProviderCatalog.IsKnown(model[..slash]))
        {
            return (model[..slash].ToLowerInvariant(), model[(slash + 1)..]);
        }
        return (null, model);
    }

    private static (ContractMessage? Message, OpenAiError? Error) MapMessage(ChatCompletionMessage? m, int i)
    {
        var at = $"messages[{i}]";
        if (m is null)
        {
            return (null, OpenAiErrors.BadRequest($"{at} must be an object.", at, "invalid_type"));
        }
        var role = m.Role switch
        {
            "system" or "developer" => "system",
            "user" => "user",
            "assistant" => "assistant",
            "tool" or "function" => "tool",
            _ => null,
        };
        if (role is null)
        {
            return (null, OpenAiErrors.BadRequest($"{at}.role '{m.Role}' must be system, developer, user or assistant.", $"{at}.role", "invalid_value"));
        }
        if (role == "tool")
        {
            return (null, OpenAiErrors.Unsupported($"{at}.role", "tool and function messages need tool calling, which D8 does not run."));
        }
        if (IsSet(m.ToolCalls) || IsSet(m.FunctionCall))
        {
            return (null, OpenAiErrors.Unsupported($"{at}.tool_calls", "D8 does not run tool calling."));
        }
        if (IsSet(m.Audio))
        {
            return (null, OpenAiErrors.Unsupported($"{at}.audio", "D8 runs text only."));
        }
        if (m.Content is not { } content || content.ValueKind == JsonValueKind.Null)
        {
            return (null, OpenAiErrors.BadRequest($"{at}.content is required.", $"{at}.content", "missing_required_parameter"));
        }
        if (content.ValueKind == JsonValueKind.String)
        {
            return (new ContractMessage(role, content.GetString()!), null);
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return (null, OpenAiErrors.BadRequest($"{at}.content must be a string or an array of text parts.", $"{at}.content", "invalid_type"));
        }
        var text = new StringBuilder();
        var j = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partAt = $"{at}.content[{j}]";
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String
                ? ty.GetString()
                : null;
            if (type != "text")
            {
                return type is null
                    ? (null, OpenAiErrors.BadRequest($"{partAt} must be an object with a type.", partAt, "invalid_type"))
                    : (null, OpenAiErrors.Unsupported(partAt, $"content parts of type '{type}' (images, audio, files) are not run; D8 runs text only."));
            }
            if (!part.TryGetProperty("text", out var piece) || piece.ValueKind != JsonValueKind.String)
            {
                return (null, OpenAiErrors.BadRequest($"{partAt}.text must be a string.", $"{partAt}.text", "invalid_type"));
            }
            if (text.Length > 0)
            {
                text.Append('\n');
            }
            text.Append(piece.GetString());
            j++;
        }
        return (new ContractMessage(role, text.ToString()), null);
    }

    private static (IReadOnlyList<string>? Stop, OpenAiError? Error) MapStop(JsonElement? raw)
    {
        if (raw is not { } stop || stop.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }
        if (stop.ValueKind == JsonValueKind.String)
        {
            return stop.GetString() is { Length: > 0 } s ? ([s], null) : (null, null);
        }
        var bad = OpenAiErrors.BadRequest("stop must be a string or an array of up to 4 non-empty strings.", "stop", "invalid_value");
        if (stop.ValueKind != JsonValueKind.Array || stop.GetArrayLength() > 4)
        {
            return (null, bad);
        }
        var list = new List<string>();
        foreach (var item in stop.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 } s)
            {
                return (null, bad);
            }
            list.Add(s);
        }
        return (list.Count == 0 ? null : list, null);
    }

    private static (Dictionary<string, string>? Labels, int? Priority, OpenAiError? Error) MapLabels(
        string? user, IReadOnlyDictionary<string, string>? metadata)
    {
        if (user is { Length: > 256 })
        {
            return (null, null, OpenAiErrors.BadRequest("user must be at most 256 characters.", "user", "invalid_value"));
        }
        if (metadata is { Count: > 16 })
        {
            return (null, null, OpenAiErrors.BadRequest("metadata holds at most 16 pairs.", "metadata", "invalid_value"));
        }
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        int? priority = null;
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            if (key.Length is 0 or > 64 || value is null || value.Length > 512)
            {
                return (null, null, OpenAiErrors.BadRequest(
                    "metadata keys must be 1 to 64 characters and values strings of at most 512.", $"metadata.{key}", "invalid_value"));
            }
            if (key == PriorityMetadataKey)
            {
                if (!TryParsePriority(value, out var p))
                {
                    return (null, null, OpenAiErrors.BadRequest(
                        $"metadata.{PriorityMetadataKey} '{value}' must be a whole number from 0 (lowest) to 9 (highest).",
                        $"metadata.{PriorityMetadataKey}", "invalid_value"));
                }
                priority = p;
                continue;
            }
            labels[key] = value;
        }
        if (user is { Length: > 0 })
        {
            labels[UserLabel] = user;
        }
        return (labels.Count == 0 ? null : labels, priority, null);
    }

    /// <summary>A priority as the header and metadata give it: a whole number 0–9.</summary>
    public static bool TryParsePriority(string? raw, out int priority) =>
        int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out priority) && priority is >= 0 and <= 9;

    /// <summary>The first parameter D8 does not run, at a value that would change the answer.</summary>
    private static OpenAiError? UnsupportedParameter(ChatCompletionRequest r)
    {
        if (r.Unrecognized is { Count: > 0 } extra)
        {
            var name = extra.Keys.First();
            return OpenAiErrors.BadRequest($"Unrecognized request argument supplied: {name}", name, "unknown_parameter");
        }
        if (r.N is { } n && n != 1)
        {
            return OpenAiErrors.Unsupported("n", "one choice per call; send n calls instead (each becomes a task and they run in parallel on the fleet).");
        }
        const string noTools = "D8 does not run tool calling (function calling).";
        if (IsSet(r.Tools) && !IsEmptyArray(r.Tools)) return OpenAiErrors.Unsupported("tools", noTools);
        if (IsSet(r.Functions) && !IsEmptyArray(r.Functions)) return OpenAiErrors.Unsupported("functions", noTools);
        if (IsSet(r.ToolChoice) && !IsString(r.ToolChoice, "none")) return OpenAiErrors.Unsupported("tool_choice", noTools);
        if (IsSet(r.FunctionCall) && !IsString(r.FunctionCall, "none")) return OpenAiErrors.Unsupported("function_call", noTools);
        if (IsSet(r.Logprobs) && r.Logprobs!.Value.ValueKind != JsonValueKind.False)
            return OpenAiErrors.Unsupported("logprobs", "workers do not report token log probabilities.");
        if (IsSet(r.TopLogprobs) && !IsZero(r.TopLogprobs))
            return OpenAiErrors.Unsupported("top_logprobs", "workers do not report token log probabilities.");
        if (IsSet(r.LogitBias) && !(r.LogitBias!.Value.ValueKind == JsonValueKind.Object && !r.LogitBias.Value.EnumerateObject().Any()))
            return OpenAiErrors.Unsupported("logit_bias", "token ids differ between the fleet's models, so a bias cannot be passed on.");
        if (IsSet(r.PresencePenalty) && !IsZero(r.PresencePenalty))
            return OpenAiErrors.Unsupported("presence_penalty", "not every provider of the fleet takes it.");
        if (IsSet(r.FrequencyPenalty) && !IsZero(r.FrequencyPenalty))
            return OpenAiErrors.Unsupported("frequency_penalty", "not every provider of the fleet takes it.");
        if (IsSet(r.Audio)) return OpenAiErrors.Unsupported("audio", "D8 runs text only.");
        if (IsSet(r.Modalities) && !IsTextOnly(r.Modalities)) return OpenAiErrors.Unsupported("modalities", "D8 runs text only.");
        if (IsSet(r.Prediction)) return OpenAiErrors.Unsupported("prediction", "predicted outputs are not passed to providers.");
        if (IsSet(r.Store) && r.Store!.Value.ValueKind != JsonValueKind.False)
            return OpenAiErrors.Unsupported("store", "D8 keeps every call as a task already (GET /api/tasks/{id}); OpenAI's stored completions are not offered.");
        if (IsSet(r.ServiceTier) && !IsString(r.ServiceTier, "auto") && !IsString(r.ServiceTier, "default"))
            return OpenAiErrors.Unsupported("service_tier", "use the x-d8-priority header or metadata.d8_priority instead.");
        if (IsSet(r.ReasoningEffort)) return OpenAiErrors.Unsupported("reasoning_effort", "not passed to providers.");
        if (IsSet(r.WebSearchOptions)) return OpenAiErrors.Unsupported("web_search_options", "D8's workers do not search the web.");
        return null;
    }

    private static bool IsSet(JsonElement? e) => e is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined };
    private static bool IsEmptyArray(JsonElement? e) => e is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() == 0;
    private static bool IsString(JsonElement? e, string value) => e is { ValueKind: JsonValueKind.String } s && s.GetString() == value;
    private static bool IsZero(JsonElement? e) => e is { ValueKind: JsonValueKind.Number } n && n.GetDouble() == 0;
    private static bool IsTextOnly(JsonElement? e) =>
        e is { ValueKind: JsonValueKind.Array } a && a.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String && x.GetString() == "text");

    private static ChatMapResult Fail(OpenAiError error) => new(null, error);
}
