using D8.Orchestrator.Scheduling.Placement;
using D8.Orchestrator.Security;

namespace D8.Orchestrator.Configuration;

/// <summary>Orchestrator settings, read from the flat D8_* keys (environment variables or --D8_X= arguments).</summary>
public sealed class OrchestratorOptions
{
    /// <summary>Join token used in Development when D8_JOIN_TOKEN is not set.</summary>
    public const string DevJoinToken = "dev-join-token";

    /// <summary>API key used in Development when D8_API_KEYS is not set.</summary>
    public const string DevApiKey = "dev-api-key";

    public required string JoinToken { get; init; }
    public required IReadOnlyList<string> ApiKeys { get; init; }
    public string DbPath { get; init; } = "data/d8.db";
    /// <summary>D8_STORE: where tasks, workers, evolution runs and batches are kept (SQLite file or PostgreSQL).</summary>
    public StoreKind Store { get; init; } = StoreKind.Sqlite;
    /// <summary>D8_POSTGRES: the Npgsql connection string, required when <see cref="Store"/> is PostgreSQL.</summary>
    public string? PostgresConnectionString { get; init; }
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan OfflineAfter { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxAttempts { get; init; } = 3;
    public long MaxBodyBytes { get; init; } = 1024 * 1024;
    /// <summary>Longest ?wait= a long-poll may ask for.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How often expired leases, offline workers, due retries and deadlines are swept.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Cooldown given to a rate-limited worker that reported no retry-after.</summary>
    public TimeSpan DefaultRetryAfter { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Finished tasks older than this (since they finished) are deleted from the store.</summary>
    public TimeSpan RetentionAge { get; init; } = TimeSpan.FromDays(7);
    /// <summary>Rows deleted per retention transaction (small, so commits of live work interleave).</summary>
    public int RetentionBatch { get; init; } = 500;
    /// <summary>How often retention runs.</summary>
    public TimeSpan RetentionInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>Finished evolution runs (with their genomes) older than this (since they ended) are deleted.</summary>
    public TimeSpan EvolutionRetentionAge { get; init; } = TimeSpan.FromDays(30);
    /// <summary>How long an evolution evaluation is reused from the evaluation cache (0 = no cache).</summary>
    public TimeSpan EvalCacheAge { get; init; } = TimeSpan.FromDays(7);
    /// <summary>A repeated idempotency key names the same task if that task was created at most this long ago (or is live).</summary>
    public TimeSpan IdempotencyWindow { get; init; } = TimeSpan.FromHours(24);
    /// <summary>Workers offline or gone for longer than this leave the fleet view and the store.</summary>
    public TimeSpan ForgetWorkersAfter { get; init; } = TimeSpan.FromHours(24);
    /// <summary>How free slots get tasks: fastest (speed-aware placement and speculation) or fifo (first come, first served).</summary>
    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Fastest;
    /// <summary>How often the fastest scheduler's recheck pass offers held tasks to the parked lease polls (a declined
    /// slow worker, an idle fast one that may copy a straggler); a freed slot or refilled budget wakes a poll sooner.</summary>
    public TimeSpan SchedulerRecheck { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>D8_REVOKE_ON_JOIN_ROTATION: at start-up, workers registered under another join secret lose their tokens.</summary>
    public bool RevokeWorkersOnJoinRotation { get; init; }

    /// <summary>
    /// Reads and validates every orchestrator D8_* key through <paramref name="settings"/> (the shape every loader has):
    /// a bad key adds one sentence naming it, so a misconfigured orchestrator stops at start-up with a message instead
    /// of running half-configured. Development stand-ins for missing secrets are reported in <paramref name="warnings"/>.
    /// </summary>
    public static OrchestratorOptions Load(SettingsReader settings, bool isDevelopment, ICollection<string> warnings)
    {
        var errorsBefore = settings.Errors.Count;

        var join = settings.Text("D8_JOIN_TOKEN");
        if (join is null)
        {
            if (isDevelopment)
            {
                join = DevJoinToken;
                warnings.Add($"D8_JOIN_TOKEN is not set; using the Development join token '{DevJoinToken}'.");
            }
            else
            {
                settings.Refuse("D8_JOIN_TOKEN is required (the shared secret workers register with).");
            }
        }

        var keys = (settings.Text("D8_API_KEYS") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (keys.Length == 0)
        {
            if (isDevelopment)
            {
                keys = [DevApiKey];
                warnings.Add($"D8_API_KEYS is not set; using the Development API key '{DevApiKey}'.");
            }
            else
            {
                settings.Refuse("D8_API_KEYS is required (comma-separated client API keys).");
            }
        }

        // Outside Development a guessable secret is refused: the guessing limit slows guessing, it cannot make "abc" safe.
        var weak = new List<string>();
        // The Development defaults are warned about above already.
        if (join is not null && !(isDevelopment && join == DevJoinToken) && SecretStrength.Weakness("D8_JOIN_TOKEN", Contracts.Trust.JoinToken.SecretOf(join)) is { } weakJoin) weak.Add(weakJoin);
        if (keys.Any(k => !(isDevelopment && k == DevApiKey) && SecretStrength.EstimateBits(k) < SecretStrength.MinimumBits))
        {
            weak.Add($"D8_API_KEYS holds a key that is too weak (under {SecretStrength.MinimumBits} bits of entropy): {SecretStrength.HowToMake}.");
        }
        foreach (var w in weak)
        {
            if (isDevelopment) warnings.Add(w + " (allowed in Development only)");
            else settings.Refuse(w);
        }

        var options = new OrchestratorOptions
        {
            JoinToken = join ?? "",
            ApiKeys = keys,
            DbPath = settings.Text("D8_DB_PATH") ?? "data/d8.db",
            Store = StoreOf(settings),
            PostgresConnectionString = PostgresOf(settings),
            HeartbeatInterval = Seconds(settings, "D8_HEARTBEAT_SECONDS", 10, 1, 3600),
            LeaseDuration = Seconds(settings, "D8_LEASE_SECONDS", 60, 2, 86400),
            OfflineAfter = Seconds(settings, "D8_OFFLINE_AFTER_SECONDS", 30, 1, 86400),
            MaxAttempts = (int)settings.Number("D8_MAX_ATTEMPTS", 3, 1, 100),
            MaxBodyBytes = (long)settings.Number("D8_MAX_BODY_BYTES", 1024 * 1024, 1024, 1024L * 1024 * 1024),
            MaxWait = Seconds(settings, "D8_MAX_WAIT_SECONDS", 60, 1, 3600),
            SweepInterval = TimeSpan.FromMilliseconds(settings.Number("D8_SWEEP_INTERVAL_MS", 1000, 10, 60000)),
            DefaultRetryAfter = Seconds(settings, "D8_DEFAULT_RETRY_AFTER_SECONDS", 5, 0, 3600),
            RetentionAge = TimeSpan.FromDays(settings.Number("D8_RETENTION_DAYS", 7, 0.001, 36500)),
            RetentionBatch = (int)settings.Number("D8_RETENTION_BATCH", 500, 1, 100_000),
            RetentionInterval = Seconds(settings, "D8_RETENTION_INTERVAL_SECONDS", 60, 1, 86400),
            EvolutionRetentionAge = TimeSpan.FromDays(settings.Number("D8_EVOLUTION_RETENTION_DAYS", 30, 0.001, 36500)),
            EvalCacheAge = TimeSpan.FromDays(settings.Number("D8_EVAL_CACHE_DAYS", 7, 0, 36500)),
            IdempotencyWindow = TimeSpan.FromHours(settings.Number("D8_IDEMPOTENCY_WINDOW_HOURS", 24, 0, 876000)),
            ForgetWorkersAfter = TimeSpan.FromHours(settings.Number("D8_WORKER_FORGET_HOURS", 24, 0.001, 876000)),
            Scheduler = SchedulerOf(settings),
            SchedulerRecheck = TimeSpan.FromMilliseconds(settings.Number("D8_SCHEDULER_RECHECK_MS", 1000, 10, 60000)),
            RevokeWorkersOnJoinRotation = settings.Flag("D8_REVOKE_ON_JOIN_ROTATION", false),
        };

        // Keys that must agree are compared only when each is valid on its own (else the fallback would be compared).
        if (settings.Errors.Count > errorsBefore) return options;
        if (options.LeaseDuration <= options.HeartbeatInterval)
        {
            settings.Refuse($"D8_LEASE_SECONDS ({options.LeaseDuration.TotalSeconds}) must be longer than D8_HEARTBEAT_SECONDS " +
                            $"({options.HeartbeatInterval.TotalSeconds}), or every lease expires between two heartbeats.");
        }
        if (options.IdempotencyWindow > options.RetentionAge)
        {
            settings.Refuse($"D8_IDEMPOTENCY_WINDOW_HOURS ({options.IdempotencyWindow.TotalHours}) must not exceed D8_RETENTION_DAYS " +
                            $"({options.RetentionAge.TotalDays} days): a key must not outlive the task it names.");
        }
        return options;
    }

    private static SchedulerKind SchedulerOf(SettingsReader settings)
    {
        var raw = settings.Text("D8_SCHEDULER");
        switch (raw?.ToLowerInvariant())
        {
            case null or "fastest":
                return SchedulerKind.Fastest;
            case "fifo":
                return SchedulerKind.Fifo;
            default:
                settings.Refuse($"D8_SCHEDULER='{raw}' must be 'fastest' (speed-aware, the default) or 'fifo' (first come, first served).");
                return SchedulerKind.Fastest;
        }
    }

    private static StoreKind StoreOf(SettingsReader settings)
    {
        var raw = settings.Text("D8_STORE");
        switch (raw?.ToLowerInvariant())
        {
            case null or "sqlite":
                return StoreKind.Sqlite;
            case "postgres" or "postgresql":
                return StoreKind.Postgres;
            default:
                settings.Refuse($"D8_STORE='{raw}' must be 'sqlite' (a file under D8_DB_PATH, the default) or 'postgres' (a server named by D8_POSTGRES).");
                return StoreKind.Sqlite;
        }
    }

    /// <summary>D8_POSTGRES, required and parsed when D8_STORE=postgres (the server is reached later, at start-up).</summary>
    private static string? PostgresOf(SettingsReader settings)
    {
        var raw = settings.Text("D8_POSTGRES");
        if (settings.Text("D8_STORE")?.ToLowerInvariant() is not ("postgres" or "postgresql")) return raw;
        if (raw is null)
        {
            settings.Refuse("D8_STORE=postgres needs D8_POSTGRES, a connection string such as 'Host=db;Username=d8;Password=…;Database=d8'.");
            return null;
        }
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(raw);
            return raw;
        }
        catch (ArgumentException e)
        {
            // The message names the bad keyword, never the string itself (it may hold a password).
            settings.Refuse($"D8_POSTGRES is not a valid connection string ({e.Message.TrimEnd('.')}): write it as 'Host=db;Username=d8;Password=…;Database=d8'.");
            return null;
        }
    }

    private static TimeSpan Seconds(SettingsReader settings, string key, double fallback, double min, double max) =>
        TimeSpan.FromSeconds(settings.Number(key, fallback, min, max));
}

/// <summary>Where the orchestrator keeps its state (D8_STORE).</summary>
public enum StoreKind
{
    /// <summary>One SQLite file (D8_DB_PATH), the default.</summary>
    Sqlite,
    /// <summary>A PostgreSQL database (D8_POSTGRES).</summary>
    Postgres,
}
