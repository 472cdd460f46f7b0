using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace D8.Emulators.Hosting;

/// <summary>Writes JSON bodies, NDJSON lines and SSE events without reflection-based serialization.</summary>
internal static class JsonResponses
{
    public static async Task WriteJsonAsync(this HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(body.ToJsonString(), Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One NDJSON line, flushed so the client sees it now.</summary>
    public static async Task WriteLineAsync(this HttpContext context, JsonNode line)
    {
        await context.Response.WriteAsync(line.ToJsonString() + "\n", Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>One server-sent event <c>data: …</c>, flushed.</summary>
    public static async Task WriteEventAsync(this HttpContext context, string data)
    {
        await context.Response.WriteAsync("data: " + data + "\n\n", Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Nanoseconds, the unit Ollama uses for durations.</summary>
    public static long Nanoseconds(TimeSpan span) => span.Ticks * 100;
}
