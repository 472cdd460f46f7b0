using System.CommandLine;

namespace D8.Cli.Configuration;

/// <summary>The global options that say which orchestrator to talk to; they apply to every subcommand.</summary>
public sealed class ConnectionOptions
{
    public Option<string?> Url { get; } = new("--url")
    {
        Description = "Orchestrator base URL (else $D8_ORCHESTRATOR_URL, else the config file)",
        Recursive = true,
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "Client API key (else $D8_API_KEY, else the config file)",
        Recursive = true,
    };

    public Option<string?> Config { get; } = new("--config")
    {
        Description = "Config file (else $D8_CONFIG, else ~/.config/d8/config.json)",
        Recursive = true,
    };

    /// <summary>Adds the options to the root command.</summary>
    public void AddTo(RootCommand root)
    {
        root.Options.Add(Url);
        root.Options.Add(ApiKey);
        root.Options.Add(Config);
    }
}
