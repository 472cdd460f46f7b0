using Npgsql;

namespace D8.Tests.Infrastructure;

/// <summary>The throwaway cluster itself: it starts, serves separate databases, and leaves nothing behind.</summary>
public sealed class PostgresServerTests
{
    [PostgresFact]
    public async Task Serves_a_fresh_database_per_call_and_stops_cleanly()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var server = await PostgresServer.StartAsync(timeout.Token);
        string first, second;
        await using (server)
        {
            first = await server.CreateDatabaseAsync("probe", timeout.Token);
            second = await server.CreateDatabaseAsync("probe", timeout.Token);
            Assert.NotEqual(new NpgsqlConnectionStringBuilder(first).Database, new NpgsqlConnectionStringBuilder(second).Database);

            await using var connection = new NpgsqlConnection(first);
            await connection.OpenAsync(timeout.Token);
            await using var create = new NpgsqlCommand("CREATE TABLE t (id int primary key); INSERT INTO t VALUES (7);", connection);
            await create.ExecuteNonQueryAsync(timeout.Token);
            await using var read = new NpgsqlCommand("SELECT id FROM t", connection);
            Assert.Equal(7, (int)(await read.ExecuteScalarAsync(timeout.Token))!);
        }
        if (Environment.GetEnvironmentVariable(PostgresServer.ExternalVariable) is null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var gone = new NpgsqlConnection(first);
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => gone.OpenAsync(timeout.Token));
        }
    }
}
