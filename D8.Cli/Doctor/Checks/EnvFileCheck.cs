using D8.Cli.Setup;
using D8.Cli.Verification;
using D8.Contracts;
using D8.Contracts.Trust;

namespace D8.Cli.Doctor.Checks;

/// <summary>The .env exists and has every value the chosen provider's worker needs, with no placeholders left.</summary>
public sealed class EnvFileCheck : IDoctorCheck
{
    public string Name => ".env";

    public Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        if (doctor.EnvValues is not { } values)
        {
            return Task.FromResult(Outcome.Fail($"{doctor.EnvFilePath} does not exist", "run d8 setup worker"));
        }
        string? Value(string key) => values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

        var required = new List<string> { WorkerEnvNames.OrchestratorUrl, WorkerEnvNames.JoinToken, WorkerEnvNames.Provider };
        var provider = doctor.Provider;
        if (provider?.KeyVariable is { } keyVariable) required.Add(keyVariable);
        if (provider == ProviderCatalog.OpenAi)
        {
            required.Add(provider.BaseUrlVariable!);
            required.Add(provider.ModelVariable!);
        }
        var missing = required.Where(k => Value(k) is null).ToList();
        if (missing.Count > 0)
        {
            return Task.FromResult(Outcome.Fail($"{doctor.EnvFilePath} lacks {string.Join(", ", missing)}",
                "run d8 setup worker (it keeps your other lines)"));
        }
        var placeholders = values.Where(kv => IsPlaceholder(kv.Value)).Select(kv => kv.Key).ToList();
        if (placeholders.Count > 0)
        {
            return Task.FromResult(Outcome.Fail($"{string.Join(", ", placeholders)} still hold placeholder text",
                "put the real values in (d8 setup worker)"));
        }
        // Several orchestrators sharing one database are comma-separated; each must be a URL the worker accepts.
        if (ActiveOrchestratorHandler.ParseList(Value(WorkerEnvNames.OrchestratorUrl), out _) is not { } urls)
        {
            return Task.FromResult(Outcome.Fail($"{WorkerEnvNames.OrchestratorUrl} is not a URL", "write it as https://host:port (several: comma-separated)"));
        }
        foreach (var url in urls)
        {
            if (PlainHttp.Refusal(url, PlainHttp.IsAllowed(Value(PlainHttp.AllowVariable))) is { } refusal)
            {
                return Task.FromResult(Outcome.Fail($"{WorkerEnvNames.OrchestratorUrl}: {refusal}",
                    "write it as https://host:port with the pinned D8_JOIN_TOKEN (the worker refuses this URL, exit code 4)"));
            }
        }
        return Task.FromResult(Outcome.Pass($"{doctor.EnvFilePath} has all {required.Count} required values for {provider?.Name}"));
    }

    private static bool IsPlaceholder(string value)
    {
        var v = value.ToLowerInvariant();
        return v.StartsWith("your_", StringComparison.Ordinal) || v.StartsWith("your-", StringComparison.Ordinal)
            || v.Contains("changeme", StringComparison.Ordinal) || v.Contains("_here", StringComparison.Ordinal)
            || (v.StartsWith('<') && v.EndsWith('>'));
    }
}
