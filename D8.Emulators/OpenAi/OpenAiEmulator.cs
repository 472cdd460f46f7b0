using System.Text.Json;
using System.Text.Json.Nodes;
using D8.Emulators.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace D8.Emulators.OpenAi;

/// <summary>An OpenAI-compatible chat-completions server (OpenAI, Groq <c>/openai/v1</c>, Gemini <c>/v1beta/openai</c>) on loopback.</summary>
public sealed partial class OpenAiEmulator : EmulatorHost
{
    private OpenAiEmulator(OpenAiEmulatorOptions options) : base(options.TimeProvider)
    {
        Options = options;
        Limiter = new Limits.RateLimiter(options.Limits, options.TimeProvider);
    }

    /// <summary>The enforced rate limits of <see cref="OpenAiEmulatorOptions.Limits"/>.</summary>
    public Limits.RateLimiter Limiter { get; }

    /// <summary>The settings this emulator runs with (token count and delays may be changed while running).</summary>
    public OpenAiEmulatorOptions Options { get; }

    /// <summary>Starts an emulator on a free loopback port.</summary>
    public static async Task<OpenAiEmulator> StartAsync(OpenAiEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var emulator = new OpenAiEmulator(options ?? new OpenAiEmulatorOptions());
        await emulator.StartCoreAsync(cancellationToken, emulator.Options.ListenUrl).ConfigureAwait(false);
        return emulator;
    }

    /// <summary>Base URL with the <c>/v1</c> prefix the OpenAI SDK expects as its endpoint.</summary>
    public Uri V1Endpoint => new(BaseUrl + "/v1");

    /// <inheritdoc />
    protected override void MapEndpoints(WebApplication app) =>
        // Any prefix works, so one emulator serves OpenAI-, Groq- and Gemini-style base URLs.
        app.MapMethods("/{**path}", ["GET", "POST"], DispatchAsync);

    private Task DispatchAsync(HttpContext context)
    {
        var path = context.Request.Path.Value?.TrimEnd('/') ?? "";
        var method = context.Request.Method;
        if (!Authorized(context)) return OpenAiErrors.InvalidApiKeyAsync(context);
        if (HttpMethods.IsPost(method) && path.EndsWith("/chat/completions", StringComparison.Ordinal)) return ChatAsync(context);
        if (HttpMethods.IsGet(method) && path.EndsWith("/models", StringComparison.Ordinal)) return ListModelsAsync(context);
        if (HttpMethods.IsGet(method) && path.LastIndexOf("/models/", StringComparison.Ordinal) is var at and >= 0)
            return RetrieveModelAsync(context, Uri.UnescapeDataString(path[(at + "/models/".Length)..]));
        return OpenAiErrors.WriteAsync(context, 404, $"Unknown request URL: {method} {path}.", "invalid_request_error", code: "unknown_url");
    }

    private bool Authorized(HttpContext context)
    {
        if (Options.ApiKey is null) return true;
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && string.Equals(header["Bearer ".Length..].Trim(), Options.ApiKey, StringComparison.Ordinal);
    }

    private bool KnownModel(string model) =>
        Options.Models.Count == 0 || Options.Models.Any(m => Strip(m) == Strip(model));

    private static string Strip(string model) => model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;

    private JsonObject ModelObject(string id) => new()
    {
        ["id"] = id,
        ["object"] = "model",
        ["created"] = 1_700_000_000,
        ["owned_by"] = Options.Name,
        ["active"] = true,
        ["context_window"] = 131072,
    };

    private Task ListModelsAsync(HttpContext context)
    {
        var data = new JsonArray();
        foreach (var model in Options.Models) data.Add(ModelObject(model));
        return context.WriteJsonAsync(200, new JsonObject { ["object"] = "list", ["data"] = data });
    }

    private Task RetrieveModelAsync(HttpContext context, string model) =>
        KnownModel(model) ? context.WriteJsonAsync(200, ModelObject(model)) : OpenAiErrors.ModelNotFoundAsync(context, model);

    /// <summary>Text of a message's <c>content</c>: a string or an array of <c>{"type":"text","text":…}</c> parts.</summary>
    private static string ContentText(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content)) return "";
        if (content.ValueKind == JsonValueKind.String) return content.GetString() ?? "";
        if (content.ValueKind != JsonValueKind.Array) return "";
        return string.Join(' ', content.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString()));
    }
}
