using System.CommandLine;

namespace D8.Cli.Configuration;

/// <summary>
/// Where the orchestrator is and how to authenticate, resolved from flags, then environment, then config file. Not a
/// <c>SettingsReader</c> loader like the services' D8_* keys: a command resolves these per run from three sources, and
/// a problem is a <see cref="CliException"/> — one line <c>d8: …</c>, exit code 1 — like every other command error.
/// </summary>
public sealed record ConnectionSettings(Uri OrchestratorUrl, string? ApiKey, string UrlSource)
{
    /// <summary>
    /// Every orchestrator URL given (comma-separated: several orchestrators sharing one PostgreSQL database); the
    /// client follows the active one. <see cref="OrchestratorUrl"/> is the first.
    /// </summary>
    public IReadOnlyList<Uri> OrchestratorUrls { get; init; } = [OrchestratorUrl];

    /// <summary>Resolves the settings for a parsed command line.</summary>
    public static ConnectionSettings Resolve(ParseResult parse, ConnectionOptions options, CliEnvironment env)
    {
        var configFlag = parse.GetValue(options.Config);
        var configPath = ConfigFile.PathFor(configFlag, env);
        var file = ConfigFile.Load(configPath, required: configFlag is not null);

        var (url, source) = parse.GetValue(options.Url) is { } flagUrl ? (flagUrl, "--url")
            : env.Get("D8_ORCHESTRATOR_URL") is { } envUrl ? (envUrl, "D8_ORCHESTRATOR_URL")
            : file.OrchestratorUrl is { } fileUrl ? (fileUrl, configPath)
            : (null, "");
        if (url is null)
        {
            throw new CliException("no orchestrator URL: pass --url, set D8_ORCHESTRATOR_URL, or put orchestrator_url in " + configPath);
        }
        var apiKey = parse.GetValue(options.ApiKey) ?? env.Get("D8_API_KEY") ?? file.ApiKey;
        var urls = url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => ParseUrl(u, source)).ToList();
        if (urls.Count == 0) throw new CliException($"'{url}' (from {source}) is not an http:// or https:// URL");
        return new ConnectionSettings(urls[0], apiKey, source) { OrchestratorUrls = urls };
    }

    /// <summary>Parses an http(s) base URL, with a message naming where the bad value came from.</summary>
    public static Uri ParseUrl(string url, string source)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"'{url}' (from {source}) is not an http:// or https:// URL");
        }
        // A base address without a trailing slash would drop its last path segment when combined with "api/...".
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }
}
