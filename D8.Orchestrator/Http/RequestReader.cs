using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Http;

/// <summary>
/// Reads JSON bodies and query values by hand so every way they can be wrong becomes a clear 4xx problem
/// (minimal-API binding would answer some of them with an empty 400).
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
    public static TimeSpan Wait(HttpRequest request, TimeSpan max)
    {
        var raw = request.Query["wait"].ToString();
        if (raw.Length == 0)
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
