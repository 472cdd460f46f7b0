using System.Globalization;
using System.Text.Json.Nodes;
using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using Microsoft.AspNetCore.Http;

namespace D8.Emulators.OpenAi;

/// <summary>Errors in OpenAI's <c>{"error":{"message","type","param","code"}}</c> shape.</summary>
internal static class OpenAiErrors
{
    public static JsonObject Body(string message, string type, string? param, string? code) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };

    public static Task WriteAsync(HttpContext context, int status, string message, string type, string? param = null, string? code = null) =>
        context.WriteJsonAsync(status, Body(message, type, param, code));

    public static Task InvalidApiKeyAsync(HttpContext context) =>
        WriteAsync(context, 401, "Invalid API Key", "invalid_request_error", code: "invalid_api_key");

    public static Task BadRequestAsync(HttpContext context, string message, string? param = null, string? code = null) =>
        WriteAsync(context, 400, message, "invalid_request_error", param, code);

    public static Task ModelNotFoundAsync(HttpContext context, string model) =>
        WriteAsync(context, 404, $"The model `{model}` does not exist or you do not have access to it.", "invalid_request_error", code: "model_not_found");

    /// <summary>429 with <c>retry-after</c> and Groq's <c>x-ratelimit-*</c> headers (resets written Go-style).</summary>
    public static Task RateLimitedAsync(HttpContext context, Fault fault, OpenAiEmulatorOptions options, string model)
    {
        var headers = context.Response.Headers;
        headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-limit-requests"] = options.RateLimitRequests.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-requests"] = "0";
        headers["x-ratelimit-reset-requests"] = GoDuration(TimeSpan.FromSeconds(fault.RetryAfterSeconds));
        headers["x-ratelimit-limit-tokens"] = options.RateLimitTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-tokens"] = options.RateLimitTokens.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-tokens"] = "1m0s";
        var message = $"Rate limit reached for model `{model}` on requests per minute (RPM): Limit {options.RateLimitRequests}, Used {options.RateLimitRequests}, Requested 1. Please try again in {GoDuration(TimeSpan.FromSeconds(fault.RetryAfterSeconds))}.";
        return WriteAsync(context, 429, message, "requests", code: "rate_limit_exceeded");
    }

    /// <summary>
    /// 429 for an enforced limit, as Groq words it, with <c>retry-after</c> (whole seconds at real time; fractional
    /// when the emulator runs time faster) and the <c>x-ratelimit-*</c> headers.
    /// </summary>
    public static Task LimitExceededAsync(HttpContext context, Limits.RateLimitRefusal refusal, OpenAiEmulatorOptions options, string model)
    {
        var headers = context.Response.Headers;
        var scale = options.Limits.TimeScale;
        var wait = refusal.RetryAfter < TimeSpan.Zero ? TimeSpan.Zero : refusal.RetryAfter;
        headers.RetryAfter = scale > 1
            ? Math.Max(0.001, wait.TotalSeconds).ToString("0.###", CultureInfo.InvariantCulture)
            : Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-limit-requests"] = options.Limits.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-limit-tokens"] = options.Limits.TokensPerMinute.ToString(CultureInfo.InvariantCulture);
        var tokens = refusal.Window == BudgetWindow.TokensPerMinute;
        headers[tokens ? "x-ratelimit-reset-tokens" : "x-ratelimit-reset-requests"] = GoDuration(wait);
        var what = refusal.Window switch
        {
            BudgetWindow.TokensPerMinute => "tokens per minute (TPM)",
            BudgetWindow.RequestsPerDay => "requests per day (RPD)",
            _ => "requests per minute (RPM)",
        } + (refusal.Busy ? ": the service is busy" : "");
        var message = $"Rate limit reached for model `{model}` on {what}: Limit {refusal.Allowed}, Used {refusal.Used}, " +
                      $"Requested {refusal.Requested}. Please try again in {GoDuration(wait)}.";
        // Groq's error type names the kind of limit: "tokens" for TPM, "requests" for the others.
        return WriteAsync(context, 429, message, tokens ? "tokens" : "requests", code: "rate_limit_exceeded");
    }

    public static Task StatusAsync(HttpContext context, Fault fault) =>
        WriteAsync(context, fault.StatusCode, fault.Message, fault.StatusCode >= 500 ? "server_error" : "invalid_request_error");

    /// <summary>Go's <c>time.Duration.String()</c> for whole/fractional seconds: <c>7s</c>, <c>1m0s</c>, <c>1h2m3s</c>.</summary>
    public static string GoDuration(TimeSpan span)
    {
        if (span < TimeSpan.FromMinutes(1)) return span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        var seconds = (span - TimeSpan.FromMinutes(Math.Floor(span.TotalMinutes))).TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        return span >= TimeSpan.FromHours(1)
            ? $"{(int)span.TotalHours}h{span.Minutes}m{seconds}s"
            : $"{(int)span.TotalMinutes}m{seconds}s";
    }
}
