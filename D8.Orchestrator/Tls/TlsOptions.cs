using System.Net;

namespace D8.Orchestrator.Tls;

/// <summary>How the orchestrator serves HTTPS: the D8_TLS* keys, validated at start-up.</summary>
public sealed record TlsOptions
{
    /// <summary>Serve HTTPS on every endpoint.</summary>
    public required bool Enabled { get; init; }
    /// <summary>True when D8_TLS was set (not decided from the listening addresses).</summary>
    public required bool Explicit { get; init; }
    /// <summary>Folder of the self-made CA, the server certificate and the join-token file.</summary>
    public required string Directory { get; init; }
    /// <summary>Extra subject alternative names (DNS names or IP addresses) for the server certificate.</summary>
    public required IReadOnlyList<string> SubjectNames { get; init; }
    /// <summary>User-provided PEM certificate (leaf first, then its chain) and key; null: the self-made CA.</summary>
    public string? CertificateFile { get; init; }
    public string? KeyFile { get; init; }
    /// <summary>Lifetime of a self-made server certificate (renewed at start-up when a third of it is left).</summary>
    public required TimeSpan ServerCertificateLifetime { get; init; }

    /// <summary>
    /// Reads D8_TLS (true / false / empty = auto: HTTPS unless every listening address is loopback), D8_TLS_DIR
    /// (default: tls/ beside D8_DB_PATH), D8_TLS_SAN, D8_TLS_CERT_FILE + D8_TLS_KEY_FILE, D8_TLS_CERT_DAYS.
    /// </summary>
    public static TlsOptions Load(SettingsReader settings, string dbPath)
    {
        string? Get(string key) => settings.Text(key);
        var loopbackOnly = ListensOnLoopbackOnly(settings.Configuration);
        var mode = Get("D8_TLS")?.ToLowerInvariant();
        bool enabled;
        switch (mode)
        {
            case null or "auto": enabled = !loopbackOnly; break;
            case "true" or "1" or "on": enabled = true; break;
            case "false" or "0" or "off": enabled = false; break;
            default:
                settings.Refuse($"D8_TLS='{mode}' must be true, false or auto.");
                enabled = false;
                break;
        }
        var cert = Get("D8_TLS_CERT_FILE");
        var key = Get("D8_TLS_KEY_FILE");
        if ((cert is null) != (key is null))
        {
            settings.Refuse("D8_TLS_CERT_FILE and D8_TLS_KEY_FILE go together (PEM certificate chain and its private key).");
        }
        foreach (var file in new[] { cert, key })
        {
            if (file is not null && !File.Exists(file)) settings.Refuse($"TLS file '{file}' does not exist.");
        }
        var days = settings.Number("D8_TLS_CERT_DAYS", 365, 1, 3650, unit: "days");
        var dataDir = Path.GetDirectoryName(Path.GetFullPath(dbPath)) ?? ".";
        return new TlsOptions
        {
            Enabled = enabled,
            Explicit = mode is not (null or "auto"),
            Directory = Get("D8_TLS_DIR") ?? Path.Combine(dataDir, "tls"),
            SubjectNames = (Get("D8_TLS_SAN") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            CertificateFile = cert,
            KeyFile = key,
            ServerCertificateLifetime = TimeSpan.FromDays(days),
        };
    }

    /// <summary>
    /// True when Kestrel will listen on loopback only: every URL in `urls` is localhost / 127.x / [::1], or nothing is
    /// configured (Kestrel's default is http://localhost:5000). HTTP_PORTS / HTTPS_PORTS bind every interface.
    /// </summary>
    public static bool ListensOnLoopbackOnly(IConfiguration config)
    {
        var urls = config["urls"];
        if (string.IsNullOrWhiteSpace(urls))
        {
            return string.IsNullOrWhiteSpace(config["http_ports"]) && string.IsNullOrWhiteSpace(config["https_ports"])
                && config.GetSection("Kestrel:Endpoints").GetChildren().All(e => IsLoopbackUrl(e["Url"]));
        }
        return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(IsLoopbackUrl);
    }

    private static bool IsLoopbackUrl(string? url)
    {
        if (url is null) return true;
        var hostStart = url.IndexOf("://", StringComparison.Ordinal);
        var rest = hostStart < 0 ? url : url[(hostStart + 3)..];
        var host = rest.StartsWith('[') ? rest[1..Math.Max(1, rest.IndexOf(']', StringComparison.Ordinal))] : rest.Split(':', '/')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }
}
