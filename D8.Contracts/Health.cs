namespace D8.Contracts;

/// <summary>What GET /health said: healthy or not, the HTTP status, and the server's clock (Date header).</summary>
public sealed record OrchestratorHealth(bool Healthy, int StatusCode, DateTimeOffset? ServerTime);
