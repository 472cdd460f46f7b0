namespace D8.Cli.Setup;

/// <summary>Size facts for the local models d8 suggests, and the suggestion by RAM.</summary>
public sealed record ModelNeeds(string Model, long DownloadBytes, long MinMemoryBytes);

/// <summary>Picks a DeepSeek model that fits the machine's memory.</summary>
public static class ModelAdvisor
{
    private const long GiB = 1L << 30;

    public static readonly ModelNeeds Small = new("deepseek-coder:1.3b", 800L << 20, 3 * GiB);
    public static readonly ModelNeeds Large = new("deepseek-coder:6.7b", 3900L << 20, 7 * GiB);

    /// <summary>Known needs of a model, or null for a model d8 has no figures for.</summary>
    public static ModelNeeds? NeedsOf(string model) =>
        new[] { Small, Large }.FirstOrDefault(m => string.Equals(m.Model, model, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// 8 GB machines → 6.7B, 4 GB → 1.3B. An "8 GB" Pi reports about 7.6 GiB, so the cut is at 7 GiB;
    /// below 3 GiB nothing local fits well and a cloud provider is the better choice (null).
    /// </summary>
    public static string? Suggest(long? totalMemoryBytes) => totalMemoryBytes switch
    {
        null => Small.Model,
        >= 7 * GiB => Large.Model,
        >= 3 * GiB => Small.Model,
        _ => null,
    };

    /// <summary>
    /// Container limits for the Ollama and worker-deepseek services, as .env.example sizes them:
    /// an 8 GB Pi gives Ollama 4 CPUs / 6g and the worker 1 / 512m; a 4 GB Pi 3 / 2500m and 0.5 / 256m.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ContainerLimits(long? totalMemoryBytes) =>
        totalMemoryBytes >= 7 * GiB
            ? new Dictionary<string, string>
            {
                [WorkerEnvNames.OllamaCpus] = "4", [WorkerEnvNames.OllamaMemory] = "6g",
                [WorkerEnvNames.WorkerDeepSeekCpus] = "1", [WorkerEnvNames.WorkerDeepSeekMemory] = "512m",
            }
            : new Dictionary<string, string>
            {
                [WorkerEnvNames.OllamaCpus] = "3", [WorkerEnvNames.OllamaMemory] = "2500m",
                [WorkerEnvNames.WorkerDeepSeekCpus] = "0.5", [WorkerEnvNames.WorkerDeepSeekMemory] = "256m",
            };
}
