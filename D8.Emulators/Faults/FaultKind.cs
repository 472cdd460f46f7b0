namespace D8.Emulators.Faults;

/// <summary>What a scripted <see cref="Fault"/> does to one request.</summary>
public enum FaultKind
{
    /// <summary>429 with <c>retry-after</c> and Groq-style <c>x-ratelimit-*</c> headers.</summary>
    RateLimited,
    /// <summary>An error status (500, 503, …) with a provider-shaped error body.</summary>
    HttpError,
    /// <summary>Answer normally, but with a different per-token delay.</summary>
    SlowTokens,
    /// <summary>Abort the connection after some streamed chunks.</summary>
    DropMidStream,
    /// <summary>Write a provider-shaped error line/event after some chunks, then end the stream normally.</summary>
    ErrorMidStream,
    /// <summary>Send nothing until the client aborts the request (or the emulator stops).</summary>
    Hang,
}
