using D8.Orchestrator.Configuration;
namespace D8.Orchestrator.Leadership;

/// <summary>
/// Whether this orchestrator shares its store with others (D8_STORE=postgres) and so must hold the leader lease to
/// serve, and how: the lease length (D8_LEADER_LEASE_SECONDS) and the URL it advertises to clients while active
/// (D8_PUBLIC_URL). With the SQLite store there is no lease: one orchestrator owns the file (DataFolderLock).
/// </summary>
public sealed record LeadershipOptions
{
    /// <summary>The connection string of the shared database.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>How long a lease lasts without renewal; the holder renews at a third of it.</summary>
    public required TimeSpan LeaseDuration { get; init; }

    /// <summary>The URL clients are sent to while this orchestrator is active.</summary>
    public required string PublicUrl { get; init; }

    /// <summary>This process's holder id: host, process id and a random part (a restarted process is a new holder).</summary>
    public string Holder { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>How often the holder renews: a third of the lease.</summary>
    public TimeSpan RenewInterval => LeaseDuration / 3;

    /// <summary>
    /// Reads the keys, given the validated <paramref name="orchestrator"/> settings (<paramref name="https"/>: TLS is on, so the default URL is https); null when the store is not shared (not D8_STORE=postgres). A bad value is a start-up refusal
    /// naming the key.
    /// </summary>
    public static LeadershipOptions? Load(SettingsReader settings, OrchestratorOptions orchestrator, bool https)
    {
        if (orchestrator is not { Store: StoreKind.Postgres, PostgresConnectionString: { } connection }) return null;
        var seconds = settings.Number("D8_LEADER_LEASE_SECONDS", 5, 1, 300, "seconds");
        var publicUrl = settings.Text("D8_PUBLIC_URL") ?? DefaultPublicUrl(settings.Configuration, https);
        if (!Uri.TryCreate(publicUrl, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            settings.Refuse($"D8_PUBLIC_URL='{publicUrl}' must be an http(s) URL clients reach this orchestrator at, e.g. https://orch-a:8080.");
        }
        return new LeadershipOptions
        {
            ConnectionString = connection,
            LeaseDuration = TimeSpan.FromSeconds(seconds),
            PublicUrl = publicUrl.TrimEnd('/'),
        };
    }

    /// <summary>
    /// The first listening address, with a wildcard host replaced by this machine's name and https when TLS is on
    /// (HTTPS is served on the same port).
    /// </summary>
    private static string DefaultPublicUrl(IConfiguration config, bool https)
    {
        var first = (config["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault();
        var port = (config["HTTP_PORTS"] ?? config["HTTPS_PORTS"] ?? "").Split(';', ',')[0].Trim();
        var raw = first ?? (port.Length > 0 ? $"http://+:{port}" : "http://localhost:5000");
        var schemeEnd = raw.IndexOf("://", StringComparison.Ordinal);
        var rest = schemeEnd < 0 ? raw : raw[(schemeEnd + 3)..];
        var colon = rest.LastIndexOf(':');
        var host = colon < 0 ? rest : rest[..colon];
        var portPart = colon < 0 ? "" : rest[colon..];
        if (host is "+" or "*" or "0.0.0.0" or "[::]") host = Environment.MachineName.ToLowerInvariant();
        return $"{(https ? "https" : "http")}://{host}{portPart.TrimEnd('/')}";
    }
}
