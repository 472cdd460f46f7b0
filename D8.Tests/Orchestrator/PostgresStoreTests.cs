using System.Data.Common;
using D8.Contracts;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Storage.Postgres;
using D8.Tests.Infrastructure;
using Npgsql;

namespace D8.Tests.Orchestrator;

/// <summary>
/// What only the PostgreSQL store has: the write fence inside each transaction (a fenced commit is never
/// acknowledged), and the schema's migrations (recorded, idempotent, safe when two orchestrators start together).
/// The behaviour both stores share is tested by the Postgres* subclasses of the engine and API tests.
/// </summary>
public sealed class PostgresStoreTests
{
    [PostgresFact]
    public async Task A_fenced_commit_is_not_acknowledged_and_nothing_of_it_is_stored()
    {
        var store = await SharedPostgres.NewStoreAsync("fence");
        await using var h = new EngineHarness(store);
        var fence = new SwitchFence();
        h.Fence = fence;
        await h.RestartAsync();
        var kept = await h.SubmitAsync("before");

        fence.Fenced = true;
        await Assert.ThrowsAnyAsync<Exception>(() => h.SubmitAsync("while fenced"));
        Assert.Contains("fenced by the test", h.Store.Problem, StringComparison.Ordinal);
        // The fence ran inside the transaction: it saw the row the transaction had written and not yet committed.
        Assert.Equal(2, fence.TasksSeen);
        await using (var db = NpgsqlDataSource.Create(store.PostgresConnectionString!))
        await using (var count = db.CreateCommand("SELECT count(*) FROM tasks"))
        {
            Assert.Equal(1L, await count.ExecuteScalarAsync());
        }

        fence.Fenced = false;
        var after = await h.SubmitAsync("after");
        Assert.Null(h.Store.Problem);
        await h.RestartAsync();
        Assert.Equal(TaskState.Queued, (await h.GetAsync(kept)).State);
        Assert.Equal(TaskState.Queued, (await h.GetAsync(after)).State);
        Assert.Equal(2, h.Engine.Stats().Tasks["queued"]);
    }

    [PostgresFact]
    public async Task Evolution_and_batch_writes_ask_the_fence_and_a_fenced_one_stores_nothing()
    {
        var store = await SharedPostgres.NewStoreAsync("fence-side");
        await using var source = NpgsqlDataSource.Create(store.PostgresConnectionString!);
        var database = new PostgresDatabase(source);
        var files = Path.Combine(Path.GetTempPath(), "d8-tests", "fence-files-" + Guid.NewGuid().ToString("N"));
        var fence = new SwitchFence();
        using var evolution = new D8.Orchestrator.Evolution.EvolutionStore(database, fence);
        using var batches = new D8.Orchestrator.Batches.BatchStore(database, files, fence);
        try
        {
            evolution.SaveTask("run-1", "key-1", "task-1");
            batches.AddFile(new D8.Contracts.OpenAi.OpenAiFile { Id = "file-1", Filename = "in.jsonl", Purpose = "batch", Bytes = 1 });

            fence.Fenced = true;
            Assert.Throws<InvalidOperationException>(() => evolution.SaveTask("run-1", "key-2", "task-2"));
            Assert.Throws<InvalidOperationException>(() =>
                batches.AddFile(new D8.Contracts.OpenAi.OpenAiFile { Id = "file-2", Filename = "in.jsonl", Purpose = "batch", Bytes = 1 }));
            Assert.Throws<InvalidOperationException>(() => batches.DeleteFile("file-1"));

            fence.Fenced = false;
            Assert.Equal(["key-1"], evolution.LoadTasks("run-1").Keys);
            Assert.NotNull(batches.GetFile("file-1"));
            Assert.Null(batches.GetFile("file-2"));
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    [PostgresFact]
    public async Task A_commit_the_server_refuses_is_not_acknowledged_and_the_next_ones_go_through()
    {
        var store = await SharedPostgres.NewStoreAsync("refused");
        await using var h = new EngineHarness(store);
        await using var db = NpgsqlDataSource.Create(store.PostgresConnectionString!);
        var worker = await h.RegisterAsync();
        var id = await h.SubmitAsync("refused lease");
        await using (var refuse = db.CreateCommand("ALTER TABLE tasks ADD CONSTRAINT no_leases CHECK (state <> 'leased')"))
            await refuse.ExecuteNonQueryAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => h.LeaseAsync(worker));
        Assert.Contains("no_leases", h.Store.Problem, StringComparison.Ordinal);

        await using (var allow = db.CreateCommand("ALTER TABLE tasks DROP CONSTRAINT no_leases"))
            await allow.ExecuteNonQueryAsync();
        // The writer's pooled connections were rolled back, not left in a failed transaction: later commits succeed.
        var next = await h.SubmitAsync("after");
        Assert.Null(h.Store.Problem);
        await h.RestartAsync();
        Assert.Equal(TaskState.Queued, (await h.GetAsync(id)).State);
        Assert.Equal(TaskState.Queued, (await h.GetAsync(next)).State);
    }

    [PostgresFact]
    public async Task The_schema_is_migrated_once_and_two_orchestrators_starting_together_take_turns()
    {
        var store = await SharedPostgres.NewStoreAsync("schema");
        await using var first = NpgsqlDataSource.Create(store.PostgresConnectionString!);
        await using var second = NpgsqlDataSource.Create(store.PostgresConnectionString!);

        await Task.WhenAll(Task.Run(() => PostgresSchema.Migrate(first)), Task.Run(() => PostgresSchema.Migrate(second)));
        PostgresSchema.Migrate(first);

        await using var versions = first.CreateCommand("SELECT count(*), max(version) FROM d8_schema");
        await using var reader = await versions.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1L, reader.GetInt64(0));
        Assert.Equal(PostgresSchema.Version, reader.GetInt32(1));
    }

    /// <summary>Throws while <see cref="Fenced"/>; counts the task rows its transaction sees each time it is asked.</summary>
    private sealed class SwitchFence : IWriteFence
    {
        public volatile bool Fenced;
        public long TasksSeen;

        public async ValueTask CheckAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
        {
            await using var cmd = connection.CreateCommand();
            cmd.Transaction = transaction;
            cmd.CommandText = "SELECT count(*) FROM tasks";
            TasksSeen = (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
            if (Fenced) throw new InvalidOperationException("fenced by the test");
        }

        public void Check(DbConnection connection, DbTransaction transaction)
        {
            if (Fenced) throw new InvalidOperationException("fenced by the test");
        }
    }
}
