using System.Net.Sockets;
using Npgsql;

namespace D8.Orchestrator.Storage.Postgres;

/// <summary>
/// The PostgreSQL tables (the SQLite file's, typed for PostgreSQL) and their migrations. <see cref="Migrate"/> runs at
/// start-up: under a transaction-scoped advisory lock (two orchestrators starting together take turns), it applies
/// every step above the version recorded in <c>d8_schema</c>, each step in the same transaction as the new version.
/// Add a step by appending to <see cref="Steps"/>; never edit one that has shipped.
/// </summary>
public static class PostgresSchema
{
    /// <summary>Arbitrary constant naming D8's schema lock among other applications' advisory locks.</summary>
    internal const long MigrationLock = 0x0D8_5C4E_3A00;

    private static readonly string[] Steps =
    [
        // 1: tasks, workers, counters; evolution runs; the Batch API's files, batches and line outcomes.
        """
        CREATE TABLE tasks (
            id          text PRIMARY KEY,
            seq         bigint NOT NULL,
            state       text NOT NULL,
            data        text NOT NULL,
            idem_key    text,
            created_at  bigint NOT NULL,
            finished_at bigint);
        CREATE INDEX tasks_state_seq ON tasks(state, seq);
        CREATE INDEX tasks_seq ON tasks(seq);
        CREATE INDEX tasks_finished_at ON tasks(finished_at) WHERE finished_at IS NOT NULL;
        CREATE INDEX tasks_idem ON tasks(created_at) WHERE idem_key IS NOT NULL;
        CREATE TABLE workers (
            id    text PRIMARY KEY,
            state text NOT NULL,
            data  text NOT NULL);
        CREATE TABLE meta (
            key   text PRIMARY KEY,
            value text NOT NULL);
        CREATE TABLE evolution_runs (
            id          text PRIMARY KEY,
            state       text NOT NULL,
            created_at  bigint NOT NULL,
            finished_at bigint,
            data        text NOT NULL);
        CREATE INDEX evolution_runs_state ON evolution_runs(state, created_at);
        CREATE INDEX evolution_runs_created ON evolution_runs(created_at);
        CREATE INDEX evolution_runs_finished ON evolution_runs(finished_at) WHERE finished_at IS NOT NULL;
        CREATE TABLE evolution_genomes (
            run_id     text NOT NULL,
            id         text NOT NULL,
            generation integer NOT NULL,
            slot       integer NOT NULL,
            data       text NOT NULL,
            PRIMARY KEY (run_id, id));
        CREATE TABLE evolution_tasks (
            run_id  text NOT NULL,
            key     text NOT NULL,
            task_id text NOT NULL,
            PRIMARY KEY (run_id, key));
        CREATE TABLE evolution_cache (
            key        text PRIMARY KEY,
            score      double precision NOT NULL,
            answer     text NOT NULL,
            reason     text,
            created_at bigint NOT NULL,
            tokens     bigint NOT NULL DEFAULT 0);
        CREATE INDEX evolution_cache_created ON evolution_cache(created_at);
        CREATE TABLE openai_files (
            seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id         text NOT NULL UNIQUE,
            purpose    text NOT NULL,
            filename   text NOT NULL,
            bytes      bigint NOT NULL,
            created_at bigint NOT NULL,
            expires_at bigint);
        CREATE INDEX openai_files_expires ON openai_files(expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE openai_batches (
            seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id            text NOT NULL UNIQUE,
            status        text NOT NULL,
            input_file_id text NOT NULL,
            finished_at   bigint,
            data          text NOT NULL);
        CREATE INDEX openai_batches_status ON openai_batches(status);
        CREATE INDEX openai_batches_input ON openai_batches(input_file_id);
        CREATE TABLE openai_batch_results (
            batch_id text NOT NULL,
            line     integer NOT NULL,
            ok       integer NOT NULL,
            data     text NOT NULL,
            PRIMARY KEY (batch_id, line));
        """,
    ];

    /// <summary>The version a database has once <see cref="Migrate"/> ran.</summary>
    public static int Version => Steps.Length;

    /// <summary>
    /// Creates or upgrades the schema. A server that cannot be reached, refuses the login or lacks the database ends
    /// start-up with one line naming D8_POSTGRES (<see cref="StartupFailure.Refusal"/>), never a stack trace.
    /// </summary>
    public static void Migrate(NpgsqlDataSource dataSource)
    {
        try
        {
            using var connection = dataSource.OpenConnection();
            using var tx = connection.BeginTransaction();
            Execute(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock})");
            Execute(connection, tx, "CREATE TABLE IF NOT EXISTS d8_schema (version integer NOT NULL)");
            int current;
            using (var read = new NpgsqlCommand("SELECT max(version) FROM d8_schema", connection, tx))
                current = read.ExecuteScalar() is int v ? v : 0;
            if (current > Steps.Length)
                throw StartupFailure.Refusal($"the PostgreSQL database named by D8_POSTGRES has D8 schema version {current}, newer than " +
                    $"this orchestrator's {Steps.Length}: run the newer orchestrator, or restore a backup taken before the upgrade.");
            for (var step = current; step < Steps.Length; step++)
            {
                Execute(connection, tx, Steps[step]);
            }
            if (current < Steps.Length)
            {
                Execute(connection, tx, "DELETE FROM d8_schema");
                Execute(connection, tx, $"INSERT INTO d8_schema(version) VALUES ({Steps.Length})");
            }
            tx.Commit();
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            var where = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
            throw StartupFailure.Refusal(
                $"cannot use the PostgreSQL database {where.Database ?? where.Username} on {where.Host}:{where.Port} " +
                $"({OneLine(e)}): check D8_POSTGRES and that the server runs and accepts this login.", e);
        }
    }

    private static string OneLine(Exception e)
    {
        var message = e is PostgresException pg ? pg.MessageText : (e.InnerException?.Message ?? e.Message);
        return message.ReplaceLineEndings(" ").TrimEnd('.');
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, connection, tx);
        cmd.ExecuteNonQuery();
    }
}
