using D8.Orchestrator.Leadership;
using D8.Tests.Infrastructure;
using Npgsql;

namespace D8.Tests.Leadership;

/// <summary>
/// The leader lease on a real PostgreSQL: one holder at a time, takeover only after expiry by the database's clock,
/// and the fence — a deposed holder's write transaction is refused, and a takeover waits for a write in flight.
/// </summary>
public sealed class LeaderLeaseTests(PostgresClusterFixture cluster) : IClassFixture<PostgresClusterFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [PostgresFact]
    public async Task A_standby_takes_the_lease_only_after_it_expired_and_the_deposed_holder_can_no_longer_write()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        var (database, a, b) = await TwoCandidatesAsync(ct);
        await using var disposeA = a;
        await using var disposeB = b;

        Assert.Equal(1, await a.TryAcquireAsync(ct));
        Assert.Null(await b.TryAcquireAsync(ct));
        var seen = await b.ReadAsync(ct);
        Assert.Equal(("http://a:8080", 1L), (seen!.Url, seen.Term));
        Assert.True(seen.Remaining > TimeSpan.Zero);
        Assert.True(await a.RenewAsync(ct));
        await WriteAsync(database, a, "a-before", ct);

        // A stops renewing (killed, cut off): its lease expires by the database's clock.
        await ExpireAsync(database, ct);
        Assert.Equal(2, await b.TryAcquireAsync(ct));
        Assert.Equal("http://b:8080", (await a.ReadAsync(ct))!.Url);

        var lost = new List<string>();
        a.Lost += lost.Add;
        var refused = await Assert.ThrowsAsync<FencedException>(() => WriteAsync(database, a, "a-after", ct));
        Assert.Contains("no longer holds the leader lease of term 1", refused.Message);
        Assert.True(a.Deposed);
        Assert.Single(lost);
        Assert.False(await a.RenewAsync(ct));
        await WriteAsync(database, b, "b", ct);
        Assert.Equal(["a-before", "b"], await RowsAsync(database, ct));
    }

    [PostgresFact]
    public async Task A_takeover_waits_for_the_holders_write_in_flight_then_fences_the_next_one()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        var (database, a, b) = await TwoCandidatesAsync(ct);
        await using var disposeA = a;
        await using var disposeB = b;
        await CreateTableAsync(database, ct);
        Assert.Equal(1, await a.TryAcquireAsync(ct));

        // A's lease has just expired (nobody took it yet), and A's write transaction passes the fence — its term is
        // still the current one — and has not committed when B tries to take over.
        await ExpireAsync(database, ct);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await InsertAsync(connection, transaction, "a-in-flight", ct);
        await a.CheckAsync(connection, transaction, ct);

        var takeover = b.TryAcquireAsync(ct);
        await WaitForLockWaitAsync(database, ct);
        Assert.False(takeover.IsCompleted);
        await transaction.CommitAsync(ct);
        Assert.Equal(2, await takeover);

        await Assert.ThrowsAsync<FencedException>(() => WriteAsync(database, a, "a-late", ct));
        Assert.Equal(["a-in-flight"], await RowsAsync(database, ct));
    }

    [PostgresFact]
    public async Task Released_lease_is_taken_at_once_and_two_starting_together_get_one_term()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        var (_, a, b) = await TwoCandidatesAsync(ct, seconds: 300);
        await using var disposeA = a;
        await using var disposeB = b;
        var terms = await Task.WhenAll(a.TryAcquireAsync(ct), b.TryAcquireAsync(ct));
        Assert.Single(terms, t => t is not null);
        var (holder, other) = terms[0] is not null ? (a, b) : (b, a);

        Assert.Null(await other.TryAcquireAsync(ct));
        await holder.ReleaseAsync(ct);
        Assert.Equal(2, await other.TryAcquireAsync(ct));
    }

    /// <summary>A fresh database with the lease table and two candidates for its lease, a and b.</summary>
    private async Task<(string Database, LeaderLease A, LeaderLease B)> TwoCandidatesAsync(CancellationToken ct, double seconds = 5)
    {
        var database = await cluster.Server.CreateDatabaseAsync("lease", ct);
        var a = new LeaderLease(Options(database, "http://a:8080", seconds));
        var b = new LeaderLease(Options(database, "http://b:8080", seconds));
        await Task.WhenAll(a.EnsureSchemaAsync(ct), b.EnsureSchemaAsync(ct));
        return (database, a, b);
    }

    private static LeadershipOptions Options(string database, string url, double seconds = 5) => new()
    {
        ConnectionString = database,
        LeaseDuration = TimeSpan.FromSeconds(seconds),
        PublicUrl = url,
    };

    private static async Task ExecuteAsync(string database, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>What a holder that stopped renewing leaves behind: a lease past its expiry by the database's clock.</summary>
    private static Task ExpireAsync(string database, CancellationToken ct) =>
        ExecuteAsync(database, "UPDATE d8_leader SET expires_at = now() - interval '1 millisecond'", ct);

    private static Task CreateTableAsync(string database, CancellationToken ct) =>
        ExecuteAsync(database, "CREATE TABLE IF NOT EXISTS written (what text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())", ct);

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string what, CancellationToken ct)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO written (what) VALUES ($1)", connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter { Value = what });
        await insert.ExecuteNonQueryAsync(ct);
    }

    /// <summary>One write transaction as a store makes it: the write, then the fence, then the commit.</summary>
    private static async Task WriteAsync(string database, LeaderLease lease, string what, CancellationToken ct)
    {
        await CreateTableAsync(database, ct);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await InsertAsync(connection, transaction, what, ct);
        await lease.CheckAsync(connection, transaction, ct);
        await transaction.CommitAsync(ct);
    }

    private static async Task<List<string>> RowsAsync(string database, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT what FROM written ORDER BY at", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(ct)) rows.Add(reader.GetString(0));
        return rows;
    }

    /// <summary>Until a session of this database waits for a row lock (the takeover behind the writer's FOR SHARE).</summary>
    private static async Task WaitForLockWaitAsync(string database, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        while ((long)(await command.ExecuteScalarAsync(ct))! == 0)
        {
            await Task.Delay(20, ct); // polling the server's own lock view: the wait itself is the signal
        }
    }
}
