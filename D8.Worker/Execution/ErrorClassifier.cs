using System.ClientModel;
using System.Net;

namespace D8.Worker.Execution;

/// <summary>Maps provider client exceptions (OpenAI SDK, OllamaSharp, HttpClient) to the worker's failure classes.</summary>
public static class ErrorClassifier
{
    /// <summary>Classifies <paramref name="error"/>; <paramref name="now"/> resolves HTTP-date retry-after values.</summary>
    public static ProviderFailure Classify(Exception error, DateTimeOffset now)
    {
        switch (error)
        {
            case AggregateException aggregate when aggregate.InnerExceptions.Count > 0:
                return Classify(aggregate.InnerExceptions[0], now);
            case ClientResultException result when result.Status > 0:
            {
                var response = result.GetRawResponse();
                TimeSpan? retryAfter = response is null
                    ? null
                    : RetryAfterParser.FromHeaders(name => response.Headers.TryGetValue(name, out var v) ? v : null, now);
                return ByStatus(result.Status, result.Message, retryAfter);
            }
            case ClientResultException { InnerException: { } inner }:
                return Classify(inner, now);
            case HttpRequestException { StatusCode: { } status } http:
                return ByStatus((int)status, http.Message, null);
            case HttpRequestException or HttpIOException or IOException or TimeoutException:
                return new ProviderFailure(FailureClass.Transient, error.Message, null, null);
            default:
                return new ProviderFailure(FailureClass.Transient, $"{error.GetType().Name}: {error.Message}", null, null);
        }
    }

    /// <summary>429/503 → rate limited; 401/403 → unauthorized; 408/5xx → transient; other 4xx → permanent.</summary>
    public static ProviderFailure ByStatus(int status, string message, TimeSpan? retryAfter) => status switch
    {
        (int)HttpStatusCode.TooManyRequests or (int)HttpStatusCode.ServiceUnavailable =>
            new(FailureClass.RateLimited, message, status, retryAfter),
        (int)HttpStatusCode.Unauthorized or (int)HttpStatusCode.Forbidden =>
            new(FailureClass.Unauthorized, message, status, null),
        (int)HttpStatusCode.RequestTimeout or >= 500 => new(FailureClass.Transient, message, status, retryAfter),
        >= 400 => new(FailureClass.Permanent, message, status, null),
        _ => new(FailureClass.Transient, message, status, null),
    };
}
