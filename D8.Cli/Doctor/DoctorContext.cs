using D8.Cli.Setup;
using D8.Contracts;
using D8.Cli.Verification;

namespace D8.Cli.Doctor;

/// <summary>What the checks look at: the .env, the compose file, the chosen provider/model/profile and the endpoints.</summary>
public sealed class DoctorContext
{
    private Task<(Outcome, OrchestratorHealth?)>? _health;

    public required CliContext Cli { get; init; }
    public required string EnvFilePath { get; init; }
    /// <summary>The .env's values, or null when the file does not exist.</summary>
    public IReadOnlyDictionary<string, string>? EnvValues { get; init; }
    public required string ComposeFilePath { get; init; }
    public ProviderInfo? Provider { get; init; }
    public string? Model { get; init; }
    public string? Profile { get; init; }
    public Uri? OrchestratorUrl { get; init; }
    public string? JoinToken { get; init; }
    public string? ApiKey { get; init; }
    public string? ProviderApiKey { get; init; }
    public Uri? ProviderBaseUrl { get; init; }
    public required Uri OllamaUrl { get; init; }

    public CliEnvironment Env => Cli.Env;

    /// <summary>The CA fingerprint the join token pins (null: a bare secret or no token).</summary>
    public string? Pin => D8.Contracts.Trust.JoinToken.TryParse(JoinToken, out var token, out _) ? token.Pin : null;

    /// <summary>A value from the .env, else from the process environment.</summary>
    public string? Setting(string key) =>
        EnvValues is not null && EnvValues.TryGetValue(key, out var v) && v.Length > 0 ? v : Env.Get(key);

    /// <summary>GET /health once, shared by the reachability and clock checks.</summary>
    public Task<(Outcome Outcome, OrchestratorHealth? Health)> HealthAsync(CancellationToken ct) =>
        _health ??= FetchHealthAsync(ct);

    /// <summary>This host's clock when the health answer arrived (for the clock-skew check).</summary>
    public DateTimeOffset? HealthReceivedAt { get; private set; }

    private async Task<(Outcome, OrchestratorHealth?)> FetchHealthAsync(CancellationToken ct)
    {
        if (OrchestratorUrl is not { } url)
        {
            return (Outcome.Fail("no orchestrator URL", $"set {WorkerEnvNames.OrchestratorUrl} in the .env (d8 setup worker) or pass --url"), null);
        }
        var result = await OrchestratorProbe.ReachableAsync(Cli, url, ct, Pin);
        HealthReceivedAt = Env.Time.GetUtcNow();
        return result;
    }
}
