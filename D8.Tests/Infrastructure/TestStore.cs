using D8.Orchestrator.Storage;
using D8.Orchestrator.Storage.Postgres;

namespace D8.Tests.Infrastructure;

/// <summary>
/// Which store a test runs its orchestrator or engine on: the SQLite file (the default), or a PostgreSQL database of
/// its own on the shared test cluster (<see cref="SharedPostgres"/>). Test classes written once for both take a
/// <see cref="TestStore"/> from their base class (<see cref="StoreTests"/>) and pass it to the harnesses.
/// </summary>
public sealed record TestStore(string? PostgresConnectionString)
{
    /// <summary>The SQLite file under D8_DB_PATH.</summary>
    public static readonly TestStore Sqlite = new((string?)null);

    public bool IsPostgres => PostgresConnectionString is not null;

    /// <summary>The orchestrator settings naming this store, over <paramref name="settings"/> (a copy; null: none).</summary>
    public Dictionary<string, string?> Apply(IDictionary<string, string?>? settings = null)
    {
        var all = settings is null ? new Dictionary<string, string?>() : new Dictionary<string, string?>(settings);
        if (IsPostgres)
        {
            all["D8_STORE"] = "postgres";
            all["D8_POSTGRES"] = PostgresConnectionString;
        }
        return all;
    }

    /// <summary>
    /// The database the evolution and batch stores run on: the SQLite file at <paramref name="sqlitePath"/>, or this
    /// PostgreSQL database over a data source of its own (disposed with the returned handle).
    /// </summary>
    public TestDatabase OpenDatabase(string sqlitePath)
    {
        if (PostgresConnectionString is not { } connectionString) return new TestDatabase(new SqliteDatabase(sqlitePath), null);
        var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString);
        return new TestDatabase(new PostgresDatabase(dataSource), dataSource);
    }

    public override string ToString() => IsPostgres ? "postgres" : "sqlite";
}

/// <summary>A store database for a test, and what to dispose with it.</summary>
public sealed class TestDatabase(IStoreDatabase database, IAsyncDisposable? owned) : IAsyncDisposable
{
    public IStoreDatabase Database { get; } = database;

    public async ValueTask DisposeAsync()
    {
        if (Database is IDisposable disposable) disposable.Dispose();
        if (owned is not null) await owned.DisposeAsync();
    }
}

/// <summary>
/// One throwaway PostgreSQL cluster for the whole test run, started by the first test that asks and stopped when the
/// test process exits; each test gets a database of its own from it (<see cref="NewStoreAsync"/>).
/// </summary>
public static class SharedPostgres
{
    private static readonly Lazy<Task<PostgresServer>> Server = new(StartAsync);

    /// <summary>A fresh database on the shared cluster, as a store choice.</summary>
    public static async Task<TestStore> NewStoreAsync(string prefix = "d8test") =>
        new(await (await Server.Value).CreateDatabaseAsync(prefix));

    /// <summary>The shared cluster (started on first use).</summary>
    public static Task<PostgresServer> GetAsync() => Server.Value;

    private static async Task<PostgresServer> StartAsync()
    {
        var server = await PostgresServer.StartAsync();
        // The test host exits without disposing statics: stop the postmaster then, so no cluster outlives the run.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        return server;
    }
}

/// <summary>
/// Base of a test class whose tests run on both stores: the class itself runs on SQLite; a subclass marked with
/// <see cref="IPostgresStoreTests"/> runs every <see cref="StoreFactAttribute"/> test again on a PostgreSQL database
/// of its own per test.
/// </summary>
public abstract class StoreTests : IAsyncLifetime
{
    /// <summary>The store this test runs on.</summary>
    protected TestStore Store { get; private set; } = TestStore.Sqlite;

    public virtual async Task InitializeAsync()
    {
        if (this is IPostgresStoreTests) Store = await SharedPostgres.NewStoreAsync(GetType().Name);
    }

    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Another empty store of the same kind (a second orchestrator that must not share this test's data).</summary>
    protected async Task<TestStore> FreshStoreAsync() =>
        Store.IsPostgres ? await SharedPostgres.NewStoreAsync(GetType().Name) : TestStore.Sqlite;
}

/// <summary>Marks a test class that runs its base class's store tests on PostgreSQL.</summary>
public interface IPostgresStoreTests;
