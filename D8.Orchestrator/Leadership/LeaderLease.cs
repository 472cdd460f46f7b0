using System.Data.Common;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Storage.Postgres;
using Npgsql;

namespace D8.Orchestrator.Leadership;

/// <summary>Who holds the leader lease right now (as the database sees it), and for how much longer.</summary>
public sealed record LeaderInfo(long Term, string Holder, string Url, TimeSpan Remaining);

/// <summary>Thrown when a write is attempted by an orchestrator that no longer holds the leader lease.</summary>
public sealed class FencedException(string message) : InvalidOperationException(message);

/// <summary>
/// The leader lease row <c>d8_leader</c> in the shared PostgreSQL database: one row, a term that grows by one on every
/// takeover, the holder (a per-process id) and its URL, and an expiry set from the database's clock (<c>now()</c>), so
/// the machines' clocks never decide who leads. A holder renews at a third of the lease; a standby takes the row only
/// once it has expired. Every write transaction of the active orchestrator checks its term and holder under
/// <c>FOR SHARE</c> (<see cref="CheckAsync"/>): a takeover waits for a write in flight, and once it commits, the
/// deposed holder's next write finds no row and rolls back.
/// </summary>
public sealed class LeaderLease(LeadershipOptions options) : IWriteFence, IAsyncDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS d8_leader (
            id smallint PRIMARY KEY CHECK (id = 1),
            term bigint NOT NULL,
            holder text NOT NULL,
            url text NOT NULL,
            expires_at timestamptz NOT NULL)
        """;

    private readonly NpgsqlDataSource _dataSource = new NpgsqlDataSourceBuilder(options.ConnectionString).Build();
    private long _term;
    private volatile bool _deposed;

    /// <summary>The lease's settings and this process's holder id.</summary>
    public LeadershipOptions Options { get; } = options;

    /// <summary>The term this process holds (0 before it became active).</summary>
    public long Term => Interlocked.Read(ref _term);

    /// <summary>True once this process learnt it lost the lease (a failed renewal or a fenced write).</summary>
    public bool Deposed => _deposed;

    /// <summary>Raised once, when this process learns it lost the lease.</summary>
    public event Action<string>? Lost;

    /// <summary>
    /// Creates the lease table if missing, under the schema's advisory lock: two orchestrators starting together take
    /// turns (CREATE TABLE IF NOT EXISTS alone races in PostgreSQL's catalogue).
    /// </summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresSchema.MigrationLock})", connection, tx))
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(Schema, connection, tx))
            await command.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Takes the lease when nobody holds it or the holder's expired (term + 1); returns the new term, or null while
    /// another holder's lease runs.
    /// </summary>
    public async Task<long?> TryAcquireAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO d8_leader (id, term, holder, url, expires_at)
            VALUES (1, 1, @holder, @url, now() + make_interval(secs => @seconds))
            ON CONFLICT (id) DO UPDATE SET term = d8_leader.term + 1, holder = EXCLUDED.holder, url = EXCLUDED.url,
                expires_at = EXCLUDED.expires_at
            WHERE d8_leader.expires_at < now()
            RETURNING term
            """);
        command.Parameters.AddWithValue("holder", Options.Holder);
        command.Parameters.AddWithValue("url", Options.PublicUrl);
        command.Parameters.AddWithValue("seconds", Options.LeaseDuration.TotalSeconds);
        if (await command.ExecuteScalarAsync(cancellationToken) is not long term) return null;
        Interlocked.Exchange(ref _term, term);
        return term;
    }

    /// <summary>Extends the lease by its full length from the database's now; false when this process no longer holds it.</summary>
    public async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("""
            UPDATE d8_leader SET expires_at = now() + make_interval(secs => @seconds)
            WHERE id = 1 AND term = @term AND holder = @holder
            """);
        command.Parameters.AddWithValue("seconds", Options.LeaseDuration.TotalSeconds);
        command.Parameters.AddWithValue("term", Term);
        command.Parameters.AddWithValue("holder", Options.Holder);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The current holder as the database sees it, or null when nobody ever held the lease.</summary>
    public async Task<LeaderInfo?> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "SELECT term, holder, url, EXTRACT(EPOCH FROM expires_at - now())::float8 FROM d8_leader WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new LeaderInfo(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), TimeSpan.FromSeconds(reader.GetDouble(3)));
    }

    /// <summary>
    /// The fence: inside a write transaction, checks (and share-locks until commit) that this process still holds its
    /// term. Throws <see cref="FencedException"/> (and marks this process deposed) when it does not.
    /// </summary>
    public async ValueTask CheckAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = FenceQuery(connection, transaction);
        if (await command.ExecuteScalarAsync(cancellationToken) is null) Refuse();
    }

    /// <summary>The same check for the evolution and batch stores' synchronous writes.</summary>
    public void Check(DbConnection connection, DbTransaction transaction)
    {
        using var command = FenceQuery(connection, transaction);
        if (command.ExecuteScalar() is null) Refuse();
    }

    private DbCommand FenceQuery(DbConnection connection, DbTransaction transaction)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM d8_leader WHERE id = 1 AND term = $1 AND holder = $2 FOR SHARE";
        command.Parameters.Add(new NpgsqlParameter { Value = Term });
        command.Parameters.Add(new NpgsqlParameter { Value = Options.Holder });
        return command;
    }

    private void Refuse()
    {
        var reason = $"this orchestrator ({Options.Holder}) no longer holds the leader lease of term {Term}: its write was refused";
        MarkDeposed(reason);
        throw new FencedException(reason);
    }

    /// <summary>Records that the lease is lost (once) and tells the listeners.</summary>
    public void MarkDeposed(string reason)
    {
        if (_deposed) return;
        _deposed = true;
        Lost?.Invoke(reason);
    }

    /// <summary>
    /// Gives the lease up at once after a clean stop (the last write is durable by then), so a standby need not wait
    /// for it to expire. Does nothing when this process does not hold it.
    /// </summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        if (Term == 0 || _deposed) return;
        await using var command = _dataSource.CreateCommand("""
            UPDATE d8_leader SET expires_at = now() - interval '1 second'
            WHERE id = 1 AND term = @term AND holder = @holder
            """);
        command.Parameters.AddWithValue("term", Term);
        command.Parameters.AddWithValue("holder", Options.Holder);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
