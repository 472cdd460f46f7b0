using D8.AppHost.Configuration;
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
    public static IReadOnlyList<WorkerKind> Select(IConfiguration config, bool ollamaAvailable, bool publishMode, ILogger logger)
    {
        var explicitList = config[EnabledKey];
        if (publishMode && string.IsNullOrWhiteSpace(explicitList))
        {
            // The compose file describes every worker; keys become variables there.
            return WorkerKind.Published;
        }

        if (string.IsNullOrWhiteSpace(explicitList))
        {
            var chosen = new List<WorkerKind>();
            foreach (var kind in WorkerKind.All)
            {
                if (kind.KeyParameter is null)
                {
                    if (ollamaAvailable) chosen.Add(kind);
                    continue;
                }
                if (HasKey(config, kind)) chosen.Add(kind);
                else logger.LogWarning("Skipping {Worker}: no {Provider} key. To run it: dotnet user-secrets set Parameters:{Parameter} <key> --project D8.AppHost", kind.ResourceName, kind.Provider, kind.KeyParameter);
            }
            return chosen;
        }

        var result = new List<WorkerKind>();
        foreach (var name in explicitList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kind = WorkerKind.All.FirstOrDefault(k => string.Equals(k.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new AppHostSetupException(
                    $"{EnabledKey} names an unknown worker '{name}'. Known workers: {string.Join(", ", WorkerKind.All.Select(k => k.Name))}.");
            if (kind.KeyParameter is null && !ollamaAvailable)
            {
                throw new AppHostSetupException($"{EnabledKey} enables '{name}', but no Ollama is used (Ollama:Mode none, or auto found neither a container runtime nor a local Ollama).\n" +
                    $"Start Docker or install Ollama, or pass --Ollama:Mode=external --Ollama:Url=http://host:11434, or leave '{name}' out of {EnabledKey}.");
            }
            if (kind.KeyParameter is not null && !publishMode && !HasKey(config, kind))
            {
                throw new AppHostSetupException(
                    $"{EnabledKey} enables '{name}', but parameter '{kind.KeyParameter}' has no value.\n" +
                    $"Set it with 'dotnet user-secrets set Parameters:{kind.KeyParameter} <key> --project D8.AppHost' or the environment variable Parameters__{kind.KeyParameter}.");
            }
            if (!result.Contains(kind)) result.Add(kind);
        }
        return result;
    }

    private static bool HasKey(IConfiguration config, WorkerKind kind) =>
        !string.IsNullOrWhiteSpace(config[$"Parameters:{kind.KeyParameter}"]);
}
