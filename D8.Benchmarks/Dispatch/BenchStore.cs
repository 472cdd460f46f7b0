using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Dispatch;

/// <summary>
/// The store a benchmark's orchestrator runs on (<c>--store sqlite|postgres</c>): SQLite is a temp file; PostgreSQL a
/// throwaway cluster (<see cref="PostgresServer"/>, initdb + postgres on a free port, with PostgreSQL's default
/// durability — fsync and synchronous commit on, unlike the test cluster; <c>--synchronous-commit off</c> for the
/// orchestrator's sessions) and one database in it.
/// </summary>
internal sealed class BenchStore : IAsyncDisposable
{
    private readonly PostgresServer? _server;

    private BenchStore(PostgresServer? server, string? connectionString, bool synchronousCommit = true)
    {
        _server = server;
        ConnectionString = connectionString;
        _synchronousCommit = synchronousCommit;
    }

    private readonly bool _synchronousCommit;

    /// <summary>The PostgreSQL connection string, or null for SQLite.</summary>
    public string? ConnectionString { get; }

    /// <summary>"SQLite temp file" or "PostgreSQL 15 (throwaway cluster, fsync on)", for the header line.</summary>
    public string Description => ConnectionString is null ? "SQLite temp file"
        : $"PostgreSQL (throwaway local cluster, fsync on, synchronous_commit {(_synchronousCommit ? "on" : "off")})";

    /// <summary>Reads <c>--store</c> (default sqlite) and starts the cluster when it says postgres; null and a message when it cannot.</summary>
    public static async Task<BenchStore> StartAsync(string[] args)
    {
        var i = Array.IndexOf(args, "--store");
        var kind = i >= 0 && i + 1 < args.Length ? args[i + 1].Trim().ToLowerInvariant() : "sqlite";
        switch (kind)
        {
            case "sqlite":
                return new BenchStore(null, null);
            case "postgres" or "postgresql":
                if (PostgresServer.Unavailable is { } reason) throw new InvalidOperationException(reason);
                var server = await PostgresServer.StartAsync(durable: true);
                var database = await server.CreateDatabaseAsync("d8bench");
                // --synchronous-commit off: the orchestrator's sessions do not wait for the WAL flush (what an operator
                // sets with ALTER ROLE … SET synchronous_commit = off); closest to SQLite's synchronous=NORMAL.
                var s = Array.IndexOf(args, "--synchronous-commit");
                var sync = !(s >= 0 && s + 1 < args.Length && args[s + 1].Trim().Equals("off", StringComparison.OrdinalIgnoreCase));
                if (!sync) database = new Npgsql.NpgsqlConnectionStringBuilder(database) { Options = "-c synchronous_commit=off" }.ToString();
                return new BenchStore(server, database, sync);
            default:
                throw new ArgumentException($"--store '{kind}' must be sqlite or postgres");
        }
    }

    /// <summary>The orchestrator settings for this store, over <paramref name="settings"/>.</summary>
    public Dictionary<string, string?> Apply(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = settings is null ? new Dictionary<string, string?>() : new Dictionary<string, string?>(settings);
        if (ConnectionString is not null)
        {
            all["D8_STORE"] = "postgres";
            all["D8_POSTGRES"] = ConnectionString;
        }
        return all;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
