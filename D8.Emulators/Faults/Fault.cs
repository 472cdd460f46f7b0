namespace D8.Emulators.Faults;

/// <summary>A scripted misbehaviour for one request (queued) or every request (sticky).</summary>
public sealed record Fault
{
    private Fault(FaultKind kind) => Kind = kind;

    /// <summary>What this fault does.</summary>
    public FaultKind Kind { get; }

    /// <summary>HTTP status for <see cref="FaultKind.HttpError"/> and <see cref="FaultKind.RateLimited"/>.</summary>
    public int StatusCode { get; init; }

    /// <summary>Error message written in the provider's error shape.</summary>
    public string Message { get; init; } = "";

    /// <summary><c>retry-after</c> seconds for <see cref="FaultKind.RateLimited"/>.</summary>
    public int RetryAfterSeconds { get; init; }

    /// <summary>Content chunks written before a mid-stream fault strikes.</summary>
    public int AfterChunks { get; init; }

    /// <summary>Per-token delay for <see cref="FaultKind.SlowTokens"/>.</summary>
    public TimeSpan TokenDelay { get; init; }

    /// <summary>429 with <c>retry-after: N</c> and Groq-style rate-limit headers.</summary>
    public static Fault RateLimited(int retryAfterSeconds = 7) => new(FaultKind.RateLimited)
    {
        StatusCode = 429,
        RetryAfterSeconds = retryAfterSeconds,
        Message = $"Rate limit reached for requests. Please try again in {retryAfterSeconds}s.",
    };

    /// <summary>500 Internal Server Error.</summary>
    public static Fault ServerError(string message = "internal server error") =>
        new(FaultKind.HttpError) { StatusCode = 500, Message = message };

    /// <summary>503 Service Unavailable.</summary>
    public static Fault ServiceUnavailable(string message = "service unavailable: model overloaded") =>
        new(FaultKind.HttpError) { StatusCode = 503, Message = message };

    /// <summary>Any error status with a provider-shaped body.</summary>
    public static Fault Status(int statusCode, string message) =>
        new(FaultKind.HttpError) { StatusCode = statusCode, Message = message };

    /// <summary>Answer normally but emit one token every <paramref name="perTokenDelay"/>.</summary>
    public static Fault SlowTokens(TimeSpan perTokenDelay) => new(FaultKind.SlowTokens) { TokenDelay = perTokenDelay };

    /// <summary>Abort the connection (<c>HttpContext.Abort()</c>) after <paramref name="afterChunks"/> content chunks.</summary>
    public static Fault DropMidStream(int afterChunks = 2) => new(FaultKind.DropMidStream) { AfterChunks = afterChunks };

    /// <summary>Write an error line/event after <paramref name="afterChunks"/> content chunks, then end the response.</summary>
    public static Fault ErrorMidStream(string message = "an error was encountered while running the model", int afterChunks = 2) =>
        new(FaultKind.ErrorMidStream) { Message = message, AfterChunks = afterChunks };

    /// <summary>Hold the request without sending a byte until the client gives up.</summary>
    public static Fault Hang() => new(FaultKind.Hang);
}
