using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;

namespace D8.Contracts;

/// <summary>The plumbing <see cref="OrchestratorClient"/> and <see cref="WorkerClient"/> share: one call with a bearer
/// credential, its JSON body and answer, and an error status turned into an <see cref="OrchestratorException"/>.</summary>
internal static class OrchestratorHttp
{
    public static string WaitQuery(TimeSpan? wait, char sep) =>
        wait is { } w && w > TimeSpan.Zero
            ? $"{sep}wait={Math.Round(w.TotalSeconds, 3).ToString(CultureInfo.InvariantCulture)}"
            : "";

    public static async Task<TResponse?> SendAsync<TRequest, TResponse>(
        HttpClient http, HttpMethod method, string path, string? bearer, TRequest? body,
        JsonTypeInfo<TRequest>? requestInfo, JsonTypeInfo<TResponse>? responseInfo, CancellationToken ct)
        where TResponse : class
    {
        using var message = new HttpRequestMessage(method, path);
        if (bearer is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        if (body is not null && requestInfo is not null)
        {
            message.Content = JsonContent.Create(body, requestInfo);
        }

        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return null;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw await ToExceptionAsync(response, ct).ConfigureAwait(false);
        }
        if (responseInfo is null)
        {
            return null;
        }
        return await response.Content.ReadFromJsonAsync(responseInfo, ct).ConfigureAwait(false);
    }

    private static async Task<OrchestratorException> ToExceptionAsync(HttpResponseMessage response, CancellationToken ct)
    {
        Problem? problem = null;
        try
        {
            if (response.Content.Headers.ContentType?.MediaType is { } mt && mt.Contains("json", StringComparison.Ordinal))
            {
                problem = await response.Content.ReadFromJsonAsync(D8JsonContext.Default.Problem, ct).ConfigureAwait(false);
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a problem document; the status code alone still says what happened.
        }
        var text = problem?.Detail ?? problem?.Title ?? response.ReasonPhrase ?? "error";
        return new OrchestratorException(response.StatusCode, problem,
            $"{(int)response.StatusCode} {response.StatusCode}: {text}");
    }
}
