using D8.Contracts;
using D8.Orchestrator.Batches;
using D8.Orchestrator.Evolution;
using D8.Orchestrator.Storage;
using D8.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace D8.Tests.Orchestrator;

/// <summary>
/// A file written before typed rows and the one schema migration (no user_version, no evolution_cache, no openai_*
/// tables; the rows below are copied from such a file) keeps its tasks, workers and counters, and gets the rest.
/// </summary>
public sealed class StorageFormatTests
{
    private const string Schema = """
        CREATE TABLE tasks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL,
            idem_key TEXT, created_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER);
        CREATE INDEX tasks_state_seq ON tasks(state, seq);
        CREATE TABLE workers (id TEXT PRIMARY KEY, state TEXT NOT NULL, data TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE INDEX tasks_seq ON tasks(seq);
        CREATE INDEX tasks_finished_at ON tasks(finished_at);
        CREATE INDEX tasks_idem ON tasks(created_at) WHERE idem_key IS NOT NULL;
        CREATE TABLE evolution_runs (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at INTEGER NOT NULL, data TEXT NOT NULL, finished_at INTEGER);
        CREATE TABLE evolution_genomes (run_id TEXT NOT NULL, id TEXT NOT NULL, generation INTEGER NOT NULL, slot INTEGER NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (run_id, id));
        CREATE TABLE evolution_tasks (run_id TEXT NOT NULL, key TEXT NOT NULL, task_id TEXT NOT NULL, PRIMARY KEY (run_id, key));
        """;

    private const string Done = """{"id":"t-done","seq":1,"state":"succeeded","kind":"chat","messages":[{"role":"user","content":"Write a haiku about queue 1"}],"max_tokens":96,"json_mode":false,"stream":false,"priority":5,"created_at":"2026-11-26T11:00:00+00:00","updated_at":"2026-11-26T11:00:02+00:00","ready_at":"2026-11-26T11:00:00+00:00","attempts":1,"max_attempts":3,"leased_by":"w-1","leased_at":"2026-11-26T11:00:01+00:00","final_lease_id":"l-1","result":{"content":"old answer","finish_reason":"stop","model":"gemini-2.5-flash","provider":"gemini","worker_id":"w-1","worker_name":"worker-gemini","usage":{"prompt_tokens":6,"completion_tokens":12,"total_tokens":18},"time_to_first_token_ms":697.407,"duration_ms":901.6034,"tokens_per_second":58.77},"errors":[],"trace_parent":"00-74fded974a983ee7e43605b8e8bb9e7b-ee4c945e09690edf-01"}""";

    private const string Queued = """{"id":"t-queued","seq":2,"state":"queued","kind":"chat","messages":[{"role":"user","content":"Write a haiku about queue 45"}],"max_tokens":96,"json_mode":false,"stream":false,"priority":5,"idempotency_key":"old-key","created_at":"2026-11-26T11:30:00+00:00","updated_at":"2026-11-26T11:30:05+00:00","not_before":"2026-11-26T11:30:08+00:00","ready_at":"2026-11-26T11:30:00+00:00","attempts":1,"max_attempts":3,"errors":[{"attempt":1,"kind":"transient","message":"Connection reset by peer.","worker_id":"w-1","at":"2026-11-26T11:30:05+00:00"}],"trace_parent":"00-6c37cdd5906a9bc3fbb6f851d26bef04-38a8efc626cf46d9-01"}""";

    private const string Worker = """{"id":"w-1","name":"worker-gemini","provider":"gemini","models":["gemini-2.5-flash"],"task_kinds":["chat"],"max_concurrency":4,"host":{"arch":"x64","cores":2,"memory_mb":24105,"os":"Debian GNU/Linux 12 (bookworm)"},"version":"1.0.0.0","token_hash":"tF412f0Ufbusri/sy7Yx1TolQBpuLIMzFACgWexJt3o=","state":"online","healthy":true,"status":"ready","in_flight":0,"tokens_per_second":78.9,"registered_at":"2026-11-26T11:00:00+00:00","last_heartbeat":"2026-11-26T11:59:50+00:00","tasks_succeeded":5,"tasks_failed":0,"drain":false,"address":"127.0.0.1"}""";

    [Fact]
    public async Task A_file_from_before_typed_rows_keeps_its_tasks_and_gets_every_table()
    {
        await using var h = new EngineHarness();
        var db = h.Options.DbPath;
        await h.CloseStoreAsync();
        SqliteConnection.ClearAllPools();
        TempDatabase.Delete(db);
        using (var old = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            old.Open();
            using var cmd = old.CreateCommand();
            cmd.CommandText = Schema + """
                INSERT INTO tasks VALUES ('t-done', 1, 'succeeded', @done, NULL, 1795690800000, 1795690802000);
                INSERT INTO tasks VALUES ('t-queued', 2, 'queued', @queued, 'old-key', 1795692600000, NULL);
                INSERT INTO workers VALUES ('w-1', 'online', @worker);
                INSERT INTO meta VALUES ('tokens_reported', '18');
                """;
            cmd.Parameters.AddWithValue("@done", Done);
            cmd.Parameters.AddWithValue("@queued", Queued);
            cmd.Parameters.AddWithValue("@worker", Worker);
            cmd.ExecuteNonQuery();
        }

        await h.RestartAsync();

        var stats = h.Engine.Stats();
        Assert.Equal(1, stats.Tasks["succeeded"]);
        Assert.Equal(1, stats.Tasks["queued"]);
        Assert.Equal(18, stats.TokensReported);
        var worker = Assert.Single(h.Engine.Workers());
        Assert.Equal(("w-1", 5L, "Debian GNU/Linux 12 (bookworm)"), (worker.Id, worker.TasksSucceeded, worker.Host!.Os));
        var done = await h.GetAsync("t-done");
        Assert.Equal(("old answer", (int?)18), (done.Result!.Content, done.Result.Usage!.TotalTokens));
        var queued = await h.GetAsync("t-queued");
        Assert.Equal((TaskState.Queued, "Write a haiku about queue 45"), (queued.State, queued.Messages[0].Content));
        Assert.Equal(FailureKind.Transient, Assert.Single(queued.Errors).Kind);
        Assert.Equal("t-queued", await h.SubmitAsync(idempotencyKey: "old-key"));

        // The old row runs to the end and is written back in the same format the next start reads.
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        var lease = await h.LeaseOneAsync(await h.RegisterAsync("gemini", ["gemini-2.5-flash"]));
        Assert.Equal("t-queued", lease.TaskId);
        await h.RestartAsync();
        Assert.Equal(TaskState.Leased, (await h.GetAsync("t-queued")).State);
        Assert.Equal(2, h.Engine.List(null, 10, null).Items.Count);

        // Every other store's tables exist now, and the file says which schema step it is at.
        using var database = new SqliteDatabase(db);
        using (var evolution = new EvolutionStore(database))
        {
            evolution.SaveCached("k", new CachedEvaluation(1, "yes", null, 7), h.Time.GetUtcNow());
            Assert.Equal(7, evolution.LoadCached("k", h.Time.GetUtcNow())!.Tokens);
        }
        var files = Path.Combine(Path.GetTempPath(), "d8-tests", "format-files-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var batches = new BatchStore(database, files);
            Assert.Empty(batches.ListBatches(null, 10));
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
        using var check = database.Open(readOnly: true);
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal(3L, (long)version.ExecuteScalar()!);
    }
}
