using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Scheduling.Placement;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Storage.Postgres;
using D8.Tests.Infrastructure;
using Npgsql;
using D8.Orchestrator.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;

namespace D8.Tests.Orchestrator;

/// <summary>
/// A scheduling engine on a real store — a SQLite temp file, or a PostgreSQL database of the test's own
/// (<see cref="TestStore"/>) — with a fake clock; time moves only when a test says so.
/// </summary>
public sealed class EngineHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly string _db = Infrastructure.TempDatabase.NewPath("engine");
    private readonly TestStore _storeChoice;
    private NpgsqlDataSource? _dataSource;
    private ITaskStore _store;

    public EngineHarness(int maxAttempts = 3, TimeSpan? retention = null, int retentionBatch = 500,
        TimeSpan? idempotencyWindow = null, TimeSpan? forgetWorkersAfter = null,
        SchedulerKind scheduler = SchedulerKind.Fastest)
        : this(TestStore.Sqlite, maxAttempts, retention, retentionBatch, idempotencyWindow, forgetWorkersAfter, scheduler)
    {
    }

    public EngineHarness(TestStore store, int maxAttempts = 3, TimeSpan? retention = null, int retentionBatch = 500,
        TimeSpan? idempotencyWindow = null, TimeSpan? forgetWorkersAfter = null,
        SchedulerKind scheduler = SchedulerKind.Fastest)
    {
        _storeChoice = store;
        Options = new OrchestratorOptions
        {
            JoinToken = "join",
            ApiKeys = ["key"],
            DbPath = _db,
            HeartbeatInterval = TimeSpan.FromSeconds(10),
            LeaseDuration = TimeSpan.FromSeconds(60),
            OfflineAfter = TimeSpan.FromSeconds(30),
            MaxAttempts = maxAttempts,
            RetentionAge = retention ?? TimeSpan.FromDays(7),
            RetentionBatch = retentionBatch,
            IdempotencyWindow = idempotencyWindow ?? TimeSpan.FromHours(24),
            ForgetWorkersAfter = forgetWorkersAfter ?? TimeSpan.FromHours(24),
            Scheduler = scheduler,
        };
        _store = OpenStore();
        Engine = NewEngine();
    }

    /// <summary>The fence the PostgreSQL store asks before each commit (set before a restart to take effect).</summary>
    public IWriteFence Fence { get; set; } = NoWriteFence.Instance;

    /// <summary>The store the engine writes to.</summary>
    internal ITaskStore Store => _store;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    public OrchestratorOptions Options { get; }
    public SchedulingEngine Engine { get; private set; }

    /// <summary>The meter factory of this harness only: a listener filters on <c>Meter.Scope</c> to ignore other engines in the process.</summary>
    public IMeterFactory MeterFactory => _services.GetRequiredService<IMeterFactory>();

    /// <summary>Closes the store (until <see cref="RestartAsync"/>), e.g. to edit the file underneath.</summary>
    public async Task CloseStoreAsync()
    {
        await _store.DisposeAsync();
        _closed = true;
    }

    private bool _closed;

    /// <summary>Closes the store and loads a new engine from the same file, as a process restart would.</summary>
    public async Task RestartAsync()
    {
        if (!_closed) await _store.DisposeAsync();
        _closed = false;
        _store = OpenStore();
        Engine = NewEngine();
    }

    private ITaskStore OpenStore()
    {
        if (_storeChoice.PostgresConnectionString is not { } connectionString)
        {
            return new SqliteTaskStore(_db, NullLogger<SqliteTaskStore>.Instance);
        }
        _dataSource ??= NpgsqlDataSource.Create(connectionString);
        return new PostgresTaskStore(new PostgresDatabase(_dataSource), Fence, NullLogger<PostgresTaskStore>.Instance);
    }

    private SchedulingEngine NewEngine() => new(_store, Options, Time,
        new OrchestratorTelemetry(_services.GetRequiredService<IMeterFactory>()),
        NullLogger<SchedulingEngine>.Instance, new Random(42));

    public async Task<string> SubmitAsync(string prompt = "p", int? priority = null, string? provider = null,
        string? model = null, DateTimeOffset? deadline = null, string? idempotencyKey = null)
    {
        var (view, _) = await Engine.SubmitAsync(new SubmitTaskRequest
        {
            Prompt = prompt, Priority = priority, Provider = provider, Model = model, Deadline = deadline,
            IdempotencyKey = idempotencyKey,
        }, null, null);
        return view.Id;
    }

    public async Task<string> RegisterAsync(string provider = "ollama", string[]? models = null, int concurrency = 4)
    {
        var response = await Engine.RegisterAsync(new RegisterWorkerRequest
        {
            Name = $"{provider}-worker",
            Provider = provider,
            Models = models ?? ["deepseek-coder:1.3b"],
            MaxConcurrency = concurrency,
        });
        return response.WorkerId;
    }

    public Task<IReadOnlyList<TaskLease>> LeaseAsync(string workerId, int max = 1) =>
        Engine.LeaseAsync(workerId, max, TimeSpan.Zero, CancellationToken.None);

    public async Task<TaskLease> LeaseOneAsync(string workerId) => Assert.Single(await LeaseAsync(workerId));

    public Task<TaskView> GetAsync(string id) => Engine.GetAsync(id, TimeSpan.Zero, CancellationToken.None);

    public Task<TaskView> FailAsync(TaskLease lease, string workerId, FailureKind kind, double? retryAfter = null) =>
        Engine.FailAsync(lease.TaskId, workerId, new FailTaskRequest
        {
            LeaseId = lease.LeaseId, Kind = kind, Message = $"{kind} failure", RetryAfterSeconds = retryAfter,
        });

    public Task<TaskView> CompleteAsync(TaskLease lease, string workerId, string content = "done") =>
        Engine.CompleteAsync(lease.TaskId, workerId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = content });

    /// <summary>Moves the clock and runs one sweep, as the host's timer would.</summary>
    public Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        return Engine.SweepAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_closed) await _store.DisposeAsync();
        if (_dataSource is not null) await _dataSource.DisposeAsync();
        await _services.DisposeAsync();
        Infrastructure.TempDatabase.Delete(_db);
    }
}
