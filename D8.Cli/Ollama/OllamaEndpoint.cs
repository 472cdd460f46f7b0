using D8.Cli.Configuration;
using OllamaSharp;

namespace D8.Cli.Ollama;

/// <summary>Finds the Ollama endpoint and builds OllamaSharp clients for it.</summary>
public static class OllamaEndpoint
{
    public const string DefaultUrl = "http://localhost:11434";

    /// <summary>The flag, then $D8_OLLAMA_URL, then the config file's ollama_url, then localhost:11434.</summary>
    public static Uri Resolve(string? flag, CliEnvironment env, string? configFlag = null)
    {
        if (flag is not null) return ConnectionSettings.ParseUrl(flag, "--ollama-url");
        if (env.Get("D8_OLLAMA_URL") is { } fromEnv) return ConnectionSettings.ParseUrl(fromEnv, "D8_OLLAMA_URL");
        var file = ConfigFile.Load(ConfigFile.PathFor(configFlag, env), required: false);
        return ConnectionSettings.ParseUrl(file.OllamaUrl ?? DefaultUrl, file.OllamaUrl is null ? "default" : "config file");
    }

    /// <summary>An OllamaSharp client; pulls stream for minutes, so the timeout is long.</summary>
    public static OllamaApiClient CreateClient(CliContext ctx, Uri url, TimeSpan timeout) =>
        new(ctx.CreateHttpClient(url, timeout));

    /// <summary>True when an installed model name is the wanted one ("x" means "x:latest").</summary>
    public static bool SameModel(string installed, string wanted) =>
        string.Equals(installed, wanted, StringComparison.OrdinalIgnoreCase)
        || (!wanted.Contains(':', StringComparison.Ordinal) && string.Equals(installed, wanted + ":latest", StringComparison.OrdinalIgnoreCase));
}
