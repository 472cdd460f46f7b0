using System.Text.Json;
using System.Text.Json.Serialization;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// <c>POST /v1/chat/completions</c> body as OpenAI defines it. Fields D8 runs are typed; fields it does not run are
/// read too (loosely, as <see cref="JsonElement"/>) so <see cref="ChatRequestMapper"/> can refuse them by name instead
/// of ignoring them; anything else lands in <see cref="Unrecognized"/> and is refused like OpenAI does.
/// </summary>
public sealed record ChatCompletionRequest
{
    public string? Model { get; init; }
    public IReadOnlyList<ChatCompletionMessage>? Messages { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    /// <summary>A string or an array of up to 4 strings.</summary>
    public JsonElement? Stop { get; init; }
    public long? Seed { get; init; }
    public ResponseFormat? ResponseFormat { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public string? User { get; init; }
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    // Read only to be refused (or accepted at their no-op value): see ChatRequestMapper.
    public int? N { get; init; }
    public JsonElement? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public JsonElement? ParallelToolCalls { get; init; }
    public JsonElement? Functions { get; init; }
    public JsonElement? FunctionCall { get; init; }
    public JsonElement? Logprobs { get; init; }
    public JsonElement? TopLogprobs { get; init; }
    public JsonElement? LogitBias { get; init; }
    public JsonElement? PresencePenalty { get; init; }
    public JsonElement? FrequencyPenalty { get; init; }
    public JsonElement? Audio { get; init; }
    public JsonElement? Modalities { get; init; }
    public JsonElement? Prediction { get; init; }
    public JsonElement? Store { get; init; }
    public JsonElement? ServiceTier { get; init; }
    public JsonElement? ReasoningEffort { get; init; }
    public JsonElement? WebSearchOptions { get; init; }

    /// <summary>Keys OpenAI's API does not define either.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unrecognized { get; set; }
}

/// <summary>One message: <see cref="Content"/> is a string or an array of content parts.</summary>
public sealed record ChatCompletionMessage
{
    public string? Role { get; init; }
    public JsonElement? Content { get; init; }
    public string? Name { get; init; }
    public JsonElement? ToolCalls { get; init; }
    public JsonElement? ToolCallId { get; init; }
    public JsonElement? FunctionCall { get; init; }
    public JsonElement? Audio { get; init; }
    public JsonElement? Refusal { get; init; }
}

/// <summary><c>response_format</c>: <c>text</c>, <c>json_object</c> (json mode) or <c>json_schema</c> (not run).</summary>
public sealed record ResponseFormat
{
    public string? Type { get; init; }
    public JsonElement? JsonSchema { get; init; }
}

public sealed record StreamOptions
{
    public bool? IncludeUsage { get; init; }
}

/// <summary><c>chat.completion</c>: the answer to a non-streaming call.</summary>
public sealed record ChatCompletion(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChatChoice> Choices,
    ChatUsage? Usage)
{
    public string Object { get; init; } = "chat.completion";
    public string? SystemFingerprint { get; init; }
}

public sealed record ChatChoice(int Index, AssistantMessage Message, string FinishReason)
{
    public JsonElement? Logprobs { get; init; }
}

public sealed record AssistantMessage(string Content)
{
    public string Role { get; init; } = "assistant";
    public string? Refusal { get; init; }
}

public sealed record ChatUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary><c>chat.completion.chunk</c>: one Server-Sent Event of a streaming call.</summary>
public sealed record ChatCompletionChunk(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChunkChoice> Choices)
{
    public string Object { get; init; } = "chat.completion.chunk";
    public string? SystemFingerprint { get; init; }
    /// <summary>Only on the last chunk, and only when <c>stream_options.include_usage</c> asked for it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ChatUsage? Usage { get; init; }
}

public sealed record ChunkChoice(int Index, ChunkDelta Delta, string? FinishReason)
{
    public JsonElement? Logprobs { get; init; }
}

public sealed record ChunkDelta
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Role { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Content { get; init; }
}

/// <summary>One model of <c>GET /v1/models</c>; <see cref="OwnedBy"/> is the provider.</summary>
public sealed record ModelObject(string Id, long Created, string OwnedBy)
{
    public string Object { get; init; } = "model";
}

public sealed record ModelList(IReadOnlyList<ModelObject> Data)
{
    public string Object { get; init; } = "list";
}

/// <summary>OpenAI's error object: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed record OpenAiError(string Message, string Type, string? Param, string? Code);

public sealed record OpenAiErrorBody(OpenAiError Error);

/// <summary>Source-generated JSON for the OpenAI wire: snake_case, nulls written (OpenAI writes them too).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    AllowTrailingCommas = false)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelObject))]
[JsonSerializable(typeof(OpenAiErrorBody))]
public sealed partial class OpenAiWireContext : JsonSerializerContext;
