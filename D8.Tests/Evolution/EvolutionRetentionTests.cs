using D8.Contracts;
using D8.Orchestrator.Evolution;
using D8.Orchestrator.Scheduling;
using D8.Tests.Infrastructure;
using D8.Tests.Orchestrator;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using System.Diagnostics.Metrics;

namespace D8.Tests.Evolution;

/// <summary>
/// Retention of finished evolution runs (D8_EVOLUTION_RETENTION_DAYS): the service on a real engine and SQLite files
/// with a fake clock; no worker, so runs wait until the test stops them.
/// </summary>
[Trait("Category", "Unit")]
public class EvolutionRetentionTests : StoreTests
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly string _db = TempDatabase.NewPath("evolution");
    private EngineHarness _h = null!;
    private TestDatabase _database = null!;
    private EvolutionStore _store = null!;
    private EvolutionService _service = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _h = new EngineHarness(Store, retentionBatch: 2);
        _database = Store.OpenDatabase(_db);
        _store = new EvolutionStore(_database.Database);
        _service = new EvolutionService(_store, _h.Engine, _h.Options, _h.Time,
            new EvolutionTelemetry(_services.GetRequiredService<IMeterFactory>(), NullLogger<EvolutionTelemetry>.Instance),
            NullLoggerFactory.Instance);
    }

    private async Task<string> StoppedRunAsync(long seed)
    {
        var id = _service.Submit(EvolutionSpecs.Words(seed, generations: 2, operatorsProvider: null, evaluationProvider: null, population: 3)).Id;
        Assert.Equal(EvolutionState.Stopped, (await _service.StopAsync(id)).State);
        return id;
    }

    [StoreFact]
    public async Task Runs_ended_longer_ago_than_retention_go_with_their_genomes_and_task_rows_in_batches_and_running_ones_stay()
    {
        Assert.Equal(TimeSpan.FromDays(30), _h.Options.EvolutionRetentionAge);
        var old = await StoppedRunAsync(1);
        _h.Time.Advance(TimeSpan.FromDays(10));
        var recent = await StoppedRunAsync(2);
        _h.Time.Advance(TimeSpan.FromMinutes(1));
        var running = _service.Submit(EvolutionSpecs.Words(3, generations: 2, operatorsProvider: null, evaluationProvider: null, population: 3)).Id;
        Assert.Equal((6L, _store.CountTasks(old)), _store.RowsOf(old));

        _h.Time.Advance(TimeSpan.FromDays(20) + TimeSpan.FromMinutes(1)); // old ended 30 days + 1 min ago, recent 20 days
        Assert.Equal(1, _service.PurgeFinished(CancellationToken.None));

        var gone = Assert.Throws<EngineException>(() => _service.Get(old));
        Assert.Equal(EngineError.NotFound, gone.Error);
        Assert.Equal((0L, 0L), _store.RowsOf(old));
        Assert.Equal(EvolutionState.Stopped, _service.Get(recent).View().State);
        Assert.Equal(3, _service.Get(recent).Lineage().Genomes.Count); // generation 0 (generation 1 was never bred)
        Assert.Equal([running, recent], _service.List().Select(v => v.Id));

        // Step by step: no transaction touches more than D8_RETENTION_BATCH (2) rows; the run answers 404 from the first.
        _h.Time.Advance(TimeSpan.FromDays(10));
        var steps = new List<(int Rows, int Runs)>();
        for (var step = _store.PurgeStep(_h.Time.GetUtcNow() - _h.Options.EvolutionRetentionAge, 2); step.Rows > 0;
             step = _store.PurgeStep(_h.Time.GetUtcNow() - _h.Options.EvolutionRetentionAge, 2))
        {
            steps.Add(step);
            Assert.Throws<EngineException>(() => _service.Get(recent));
        }
        Assert.All(steps, s => Assert.InRange(s.Rows, 1, 2));
        Assert.True(steps.Count >= 4, $"6 genomes in batches of 2, then the row: {steps.Count} steps");
        Assert.Equal(1, steps.Sum(s => s.Runs));
        Assert.Equal((0L, 0L), _store.RowsOf(recent));

        // The running run is older than retention but not finished: it stays, live.
        Assert.Equal(0, _service.PurgeFinished(CancellationToken.None));
        Assert.Equal(EvolutionState.Running, _service.Get(running).View().State);
        Assert.Equal([running], _service.List().Select(v => v.Id));
    }

    [StoreFact(SqliteOnly = true)]
    public void D8_EVOLUTION_RETENTION_DAYS_is_read_defaults_to_30_and_is_validated()
    {
        static D8.Orchestrator.Configuration.OrchestratorOptions Load(string? days) => OptionsTests.Load(
            new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["D8_JOIN_TOKEN"] = D8.Tests.Orchestrator.OptionsTests.Join, ["D8_API_KEYS"] = D8.Tests.Orchestrator.OptionsTests.KeyA, ["D8_EVOLUTION_RETENTION_DAYS"] = days,
            }).Build(), false, []);
        Assert.Equal(TimeSpan.FromDays(30), Load(null).EvolutionRetentionAge);
        Assert.Equal(TimeSpan.FromDays(90), Load("90").EvolutionRetentionAge);
        Assert.Contains("D8_EVOLUTION_RETENTION_DAYS", Assert.Throws<InvalidOperationException>(() => Load("0")).Message);
    }

    [StoreFact(SqliteOnly = true)]
    public async Task A_database_from_before_finished_at_is_upgraded_and_its_old_runs_expire()
    {
        var path = TempDatabase.NewPath("evolution-old");
        try
        {
            var ended = _h.Time.GetUtcNow() - TimeSpan.FromDays(31);
            using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
            {
                old.Open();
                using var cmd = old.CreateCommand();
                cmd.CommandText = """
                    CREATE TABLE evolution_runs (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at INTEGER NOT NULL, data TEXT NOT NULL);
                    INSERT INTO evolution_runs VALUES ('evo_old', 'completed', 0, $data);
                    """;
                var record = new RunRecord
                {
                    Id = "evo_old", Spec = EvolutionSpecs.Words(1), State = EvolutionState.Completed,
                    CreatedAt = ended, UpdatedAt = ended, FinishedAt = ended,
                };
                cmd.Parameters.AddWithValue("$data", System.Text.Json.JsonSerializer.Serialize(record, EvolutionJsonContext.Default.RunRecord));
                cmd.ExecuteNonQuery();
            }
            using var store = new EvolutionStore(new D8.Orchestrator.Storage.SqliteDatabase(path));
            Assert.Equal("evo_old", store.LoadRun("evo_old")!.Id);
            Assert.Empty(store.LoadRunning());
            var cutoff = _h.Time.GetUtcNow() - TimeSpan.FromDays(30);
            Assert.Equal((1, 0), store.PurgeStep(cutoff, 10)); // marked: finished_at was filled in from the JSON row
            Assert.Null(store.LoadRun("evo_old"));
            Assert.Equal((1, 1), store.PurgeStep(cutoff, 10));
            Assert.Equal((0, 0), store.PurgeStep(cutoff, 10));
            Assert.Empty(store.LoadNewest(10));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TempDatabase.Delete(path);
        }
    }

    public override async Task DisposeAsync()
    {
        await _service.StopAsync(CancellationToken.None);
        _store.Dispose();
        await _database.DisposeAsync();
        await _h.DisposeAsync();
        await _services.DisposeAsync();
        TempDatabase.Delete(_db);
    }
}

/// <summary>The retention of runs on PostgreSQL (the options and the SQLite upgrade are SQLite's tests).</summary>
public sealed class PostgresEvolutionRetentionTests : EvolutionRetentionTests, IPostgresStoreTests;
