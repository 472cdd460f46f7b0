using D8.Tests.Infrastructure;

namespace D8.Tests.Leadership;

/// <summary>One throwaway PostgreSQL cluster per test class; each test creates its own database on it.</summary>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    /// <summary>The cluster (started by <see cref="InitializeAsync"/>; null where no server binaries exist).</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException(PostgresServer.Unavailable ?? "the cluster did not start");

    public async Task InitializeAsync()
    {
        // Where PostgreSQL cannot run, the [PostgresFact] tests are skipped (or fail under CI) on their own.
        if (PostgresServer.Unavailable is null) _server = await PostgresServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
