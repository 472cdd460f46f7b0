using D8.AppHost.Configuration;
using D8.Contracts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Workers;

/// <summary>Decides from configuration which workers run (Workers:Enabled) and fails fast on a wrong setting.</summary>
public static class WorkerSelection
{
    /// <summary>Configuration key holding the comma-separated list of workers.</summary>
    public const string EnabledKey = "Workers:Enabled";

    /// <summary>
    /// The workers to run. Without Workers:Enabled: every worker whose key is set (a missing cloud key only skips that
    /// worker, with a warning). With Workers:Enabled: exactly those, and a missing key or unknown name is an error.
    /// </summary>
    public static IReadOnlyList<ProviderInfo> Select(IConfiguration config, bool ollamaAvailable, bool publishMode, ILogger logger)
    {
        var explicitList = config[EnabledKey];
        if (publishMode && string.IsNullOrWhiteSpace(explicitList))
        {
            // The compose file describes every worker; keys become variables there.
            return ProviderCatalog.All;
        }

        if (string.IsNullOrWhiteSpace(explicitList))
        {
            var chosen = new List<ProviderInfo>();
            foreach (var kind in Runnable)
            {
                if (kind.KeyParameter() is null)
                {
                    if (ollamaAvailable) chosen.Add(kind);
                    continue;
                }
                if (HasKey(config, kind)) chosen.Add(kind);
                else logger.LogWarning("Skipping {Worker}: no {Provider} key. To run it: dotnet user-secrets set Parameters:{Parameter} <key> --project D8.AppHost", kind.Profile, kind.Name, kind.KeyParameter());
            }
            return chosen;
        }

        var result = new List<ProviderInfo>();
        foreach (var name in explicitList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kind = Runnable.FirstOrDefault(k => string.Equals(k.WorkerName, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new AppHostSetupException(
                    $"{EnabledKey} names an unknown worker '{name}'. Known workers: {string.Join(", ", Runnable.Select(k => k.WorkerName))}.");
            if (kind.KeyParameter() is null && !ollamaAvailable)
            {
                throw new AppHostSetupException($"{EnabledKey} enables '{name}', but no Ollama is used (Ollama:Mode none, or auto found neither a container runtime nor a local Ollama).\n" +
                    $"Start Docker or install Ollama, or pass --Ollama:Mode=external --Ollama:Url=http://host:11434, or leave '{name}' out of {EnabledKey}.");
            }
            if (kind.KeyParameter() is { } parameter && !publishMode && !HasKey(config, kind))
            {
                throw new AppHostSetupException(
                    $"{EnabledKey} enables '{name}', but parameter '{parameter}' has no value.\n" +
                    $"Set it with 'dotnet user-secrets set Parameters:{parameter} <key> --project D8.AppHost' or the environment variable Parameters__{parameter}.");
            }
            if (!result.Contains(kind)) result.Add(kind);
        }
        return result;
    }

    /// <summary>The workers `dotnet run` can start, in the default order: those that run with their provider's
    /// defaults (the generic OpenAI-compatible worker needs a base URL and model: compose only; `d8 setup` offers it).</summary>
    private static IReadOnlyList<ProviderInfo> Runnable { get; } = [.. ProviderCatalog.All.Where(p => p.HasDefaults)];

    private static bool HasKey(IConfiguration config, ProviderInfo kind) =>
        !string.IsNullOrWhiteSpace(config[$"Parameters:{kind.KeyParameter()}"]);
}
