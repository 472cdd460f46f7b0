using System.Text.Json;

namespace D8.Emulators.Hosting;

/// <summary>One request an emulator received, captured before it was answered.</summary>
/// <param name="Sequence">1-based arrival order within this emulator.</param>
/// <param name="ReceivedAt">When the emulator received it.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Request path (no query string).</param>
/// <param name="TraceParent">The W3C <c>traceparent</c> header, if any.</param>
/// <param name="HasAuthorization">Whether an <c>Authorization</c> header was present (its value is never stored).</param>
/// <param name="Model">The <c>model</c> (or legacy <c>name</c>) field of a JSON body, if any.</param>
/// <param name="Body">The raw body text (empty for bodiless requests).</param>
public sealed record RecordedRequest(
    long Sequence,
    DateTimeOffset ReceivedAt,
    string Method,
    string Path,
    string? TraceParent,
    bool HasAuthorization,
    string? Model,
    string Body)
{
    /// <summary>Parses <see cref="Body"/> as JSON (caller disposes).</summary>
    public JsonDocument ParseBody() => JsonDocument.Parse(Body.Length == 0 ? "null" : Body);

    /// <summary>The trace id carried by <see cref="TraceParent"/> (<c>00-traceid-spanid-flags</c>), if well formed.</summary>
    public string? TraceId => TraceParent?.Split('-') is [_, var traceId, _, _] ? traceId : null;
}
