namespace D8.Worker.Execution;

/// <summary>How the worker treats a provider failure.</summary>
public enum FailureClass
{
    /// <summary>429/503: another worker may take the task; this one cools down.</summary>
    RateLimited,
    /// <summary>Timeout, dropped connection, 5xx: retry later.</summary>
    Transient,
    /// <summary>Bad model or request: retrying will not help.</summary>
    Permanent,
    /// <summary>401/403: the key is wrong; the worker stops leasing until a probe succeeds.</summary>
    Unauthorized,
}

/// <summary>A classified provider failure.</summary>
public sealed record ProviderFailure(FailureClass Class, string Message, int? Status, TimeSpan? RetryAfter);
