namespace D8.Emulators.OpenAi;

/// <summary>Settings for <see cref="OpenAiEmulator"/>.</summary>
public sealed class OpenAiEmulatorOptions
{
    /// <summary>Echoed in every answer, so tests can tell which emulator (provider) answered.</summary>
    public string Name { get; set; } = "openai-emulator";

    /// <summary>The accepted <c>Authorization: Bearer</c> key; <c>null</c> accepts any (or none).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Known model ids (a <c>models/</c> prefix is ignored when matching); empty accepts any model.</summary>
    public IList<string> Models { get; set; } = ["llama-3.1-8b-instant", "gemini-2.5-flash", "gpt-4o-mini"];

    /// <summary>Tokens (words) in a full answer.</summary>
    public int TokensPerAnswer { get; set; } = 12;

    /// <summary>Delay before each streamed token (also applied, summed, before a non-streamed answer).</summary>
    public TimeSpan TokenDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Requests-per-minute figure reported in <c>x-ratelimit-limit-requests</c> on 429s.</summary>
    public int RateLimitRequests { get; set; } = 30;

    /// <summary>Tokens-per-minute figure reported in <c>x-ratelimit-limit-tokens</c> on 429s.</summary>
    public int RateLimitTokens { get; set; } = 6000;

    /// <summary>Enforced rate limits (requests/tokens per minute, requests per day, random 429s); none by default.</summary>
    public Limits.RateLimitOptions Limits { get; set; } = new();

    /// <summary>Clock for <c>created</c> timestamps and delays.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Address to listen on: a free loopback port unless set (the emulator image listens on http://0.0.0.0:PORT).</summary>
    public string ListenUrl { get; set; } = "http://127.0.0.1:0";
}
