using System.Text.Json;
using System.Text.Json.Serialization;

namespace D8.Cli.Configuration;

/// <summary>The optional config file: <c>{"orchestrator_url": "...", "api_key": "..."}</c>.</summary>
public sealed record ConfigFile
{
    public string? OrchestratorUrl { get; init; }
    public string? ApiKey { get; init; }
    public string? OllamaUrl { get; init; }

    /// <summary>The file's path: the flag, then $D8_CONFIG, then $XDG_CONFIG_HOME/d8/config.json or ~/.config/d8/config.json.</summary>
    public static string PathFor(string? flag, CliEnvironment env)
    {
        if (flag is not null) return env.ResolvePath(flag);
        if (env.Get("D8_CONFIG") is { } fromEnv) return env.ResolvePath(fromEnv);
        var configHome = env.Get("XDG_CONFIG_HOME") ?? Path.Combine(env.HomeDirectory, ".config");
        return Path.Combine(configHome, "d8", "config.json");
    }

    /// <summary>Reads the file; a missing file is an empty config, a broken one is an error naming the file.</summary>
    public static ConfigFile Load(string path, bool required)
    {
        if (!File.Exists(path))
        {
            if (required) throw new CliException($"config file {path} does not exist");
            return new ConfigFile();
        }
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, CliJsonContext.Default.ConfigFile) ?? new ConfigFile();
        }
        catch (JsonException e)
        {
            throw new CliException($"config file {path} is not valid JSON: {e.Message}");
        }
    }
}
