using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Http;

/// <summary>
/// Reads JSON bodies and checks query values by hand where minimal-API binding does not do what D8 promises: a body is
/// read whatever its Content-Type (binding answers 415 to <c>curl -d</c>), may be optional, and an oversized one names
/// D8_MAX_BODY_BYTES; a query value (bound as a string parameter) is checked against its range with a message naming
/// it (typed binding would only say "failed to bind"). Every way they can be wrong becomes a clear 4xx problem.
/// </summary>
public static class RequestReader
{
    /// <summary>Deserializes the body; an empty body gives <paramref name="whenEmpty"/> (or a 400 if that is null).</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> info, T? whenEmpty = null)
        where T : class
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any()))
        {
            return whenEmpty ?? throw BadRequest("A JSON body is required.");
        }
        var limit = request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (limit is { } max && request.ContentLength > max)
        {
            throw new EngineException(EngineError.TooLarge, "Payload too large",
                $"The body is {request.ContentLength} bytes; the limit is {max} (D8_MAX_BODY_BYTES).");
        }
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync(request.Body, info, request.HttpContext.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw BadRequest("Malformed JSON: " + ex.Message);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new EngineException(EngineError.TooLarge, "Payload too large",
                $"The body is larger than the limit of {limit} bytes (D8_MAX_BODY_BYTES).");
        }
        return value ?? whenEmpty ?? throw BadRequest("A JSON object is required, not null.");
    }

    /// <summary>Parses ?wait= (seconds, optional trailing 's'), 0..max.</summary>
    public static TimeSpan Wait(string? raw, TimeSpan max)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return TimeSpan.Zero;
        }
        var text = raw.EndsWith('s') ? raw[..^1] : raw;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            || double.IsNaN(seconds) || seconds < 0 || seconds > max.TotalSeconds)
        {
            throw BadRequest($"wait='{raw}' must be a number of seconds from 0 to {max.TotalSeconds:0}.");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    public static EngineException BadRequest(string detail) =>
        new(EngineError.BadRequest, "Bad request", detail);
}
