using D8.Contracts.OpenAi;
using D8.Orchestrator.Batches;
using D8.Tests.Infrastructure;

namespace D8.Tests.Batches;

[Trait("Category", "Unit")]
/// <summary>The batch store on a real SQLite file (and PostgreSQL database): one outcome per line, and retention of files and batches.</summary>
public class BatchStoreTests : StoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private readonly string _db = TempDatabase.NewPath("batch-store");
    private readonly string _files = Path.Combine(Path.GetTempPath(), "d8-tests", "files-" + Guid.NewGuid().ToString("N"));
    private TestDatabase _database = null!;
    private BatchStore _store = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _database = Store.OpenDatabase(_db);
        _store = new BatchStore(_database.Database, _files);
    }

    [StoreFact]
    public void A_line_keeps_its_first_outcome_and_a_second_is_not_counted()
    {
        var added = _store.AddResults([new ResultRow("batch_a", 1, true, "{\"first\":1}"), new ResultRow("batch_a", 2, false, "{}")]);
        var again = _store.AddResults([new ResultRow("batch_a", 1, false, "{\"second\":1}")]);

        Assert.Equal([true, true], added);
        Assert.Equal([false], again);
        Assert.Equal((1, 1), _store.CountResults("batch_a"));
        Assert.Equal("{\"first\":1}", Assert.Single(_store.ReadResults("batch_a", ok: true, 0, 10)).Data);
        Assert.Equal([1, 2], _store.DoneLines("batch_a").Order());
    }

    [StoreFact]
    public void Retention_deletes_ended_batches_and_expired_files_but_not_a_file_an_unfinished_batch_reads()
    {
        var expired = AddFile("file-old", Now.AddDays(-1));
        var inUse = AddFile("file-in-use", Now.AddDays(-1));
        var fresh = AddFile("file-fresh", Now.AddDays(6));
        _store.Save(Batch("batch_old", "file-fresh", ended: Now.AddDays(-8)));
        _store.Save(Batch("batch_recent", "file-fresh", ended: Now.AddDays(-1)));
        _store.Save(Batch("batch_running", "file-in-use", ended: null));

        var (batches, files) = _store.PurgeStep(Now, Now.AddDays(-7), 500);

        Assert.Equal((1, 1), (batches, files));
        Assert.Null(_store.LoadBatch("batch_old"));
        Assert.NotNull(_store.LoadBatch("batch_recent"));
        Assert.NotNull(_store.LoadBatch("batch_running"));
        Assert.Null(_store.GetFile("file-old"));
        Assert.False(File.Exists(expired));
        Assert.NotNull(_store.GetFile("file-in-use"));
        Assert.True(File.Exists(inUse));
        Assert.True(File.Exists(fresh));
        Assert.Equal((0, 0), _store.PurgeStep(Now, Now.AddDays(-7), 500));
    }

    private string AddFile(string id, DateTimeOffset expires)
    {
        File.WriteAllText(_store.BodyPath(id), "{}\n");
        _store.AddFile(new OpenAiFile { Id = id, Filename = id + ".jsonl", Purpose = "batch", Bytes = 3, CreatedAt = Now.AddDays(-7).ToUnixTimeSeconds(), ExpiresAt = expires.ToUnixTimeSeconds() });
        return _store.BodyPath(id);
    }

    private static BatchRecord Batch(string id, string input, DateTimeOffset? ended) => new()
    {
        Id = id,
        InputFileId = input,
        Endpoint = "/v1/chat/completions",
        CompletionWindow = "24h",
        CreatedAt = Now.AddDays(-9),
        ExpiresAt = Now.AddDays(-8),
        Status = ended is null ? BatchStatus.InProgress : BatchStatus.Completed,
        CompletedAt = ended,
    };

    public override async Task DisposeAsync()
    {
        _store.Dispose();
        await _database.DisposeAsync();
        TempDatabase.Delete(_db);
        try { Directory.Delete(_files, recursive: true); } catch (IOException) { /* best effort */ }
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresBatchStoreTests : BatchStoreTests, IPostgresStoreTests;
