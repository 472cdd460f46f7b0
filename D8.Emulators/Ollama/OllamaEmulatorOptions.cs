namespace D8.Emulators.Ollama;

/// <summary>Settings for <see cref="OllamaEmulator"/>.</summary>
public sealed class OllamaEmulatorOptions
{
    /// <summary>Echoed in every answer, so tests can tell which emulator answered.</summary>
    public string Name { get; set; } = "ollama-emulator";

    /// <summary>Models present at start (<c>name:tag</c>; a bare name means <c>:latest</c>).</summary>
    public IList<string> InstalledModels { get; set; } = ["deepseek-coder:1.3b"];

    /// <summary>Models <c>/api/pull</c> can fetch; <c>null</c> means any name.</summary>
    public IReadOnlyCollection<string>? PullableModels { get; set; }

    /// <summary>Tokens (words) in a full answer.</summary>
    public int TokensPerAnswer { get; set; } = 12;

    /// <summary>Delay before each streamed token.</summary>
    public TimeSpan TokenDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Progress lines per layer during a pull.</summary>
    public int PullChunks { get; set; } = 4;

    /// <summary>Delay before each pull progress line.</summary>
    public TimeSpan PullChunkDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Reported by <c>GET /api/version</c>.</summary>
    public string Version { get; set; } = "0.12.6";

    /// <summary>Clock for timestamps, keep-alive expiry and delays.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Address to listen on: a free loopback port unless set (the emulator image listens on http://0.0.0.0:PORT).</summary>
    public string ListenUrl { get; set; } = "http://127.0.0.1:0";
}
