using System.Globalization;
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
    /// Reads and validates every D8_* key. Throws <see cref="InvalidOperationException"/> naming each bad key, so a
    /// misconfigured orchestrator stops at start-up with a message instead of running half-configured.
    /// </summary>
    public static OrchestratorOptions Load(IConfiguration config, bool isDevelopment, ICollection<string> warnings)
    {
        var errors = new List<string>();

        var join = config["D8_JOIN_TOKEN"];
        if (string.IsNullOrWhiteSpace(join))
        {
            if (isDevelopment)
            {
                join = DevJoinToken;
                warnings.Add($"D8_JOIN_TOKEN is not set; using the Development join token '{DevJoinToken}'.");
            }
            else
            {
                errors.Add("D8_JOIN_TOKEN is required (the shared secret workers register with).");
            }
        }

        var keys = (config["D8_API_KEYS"] ?? "")
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
                errors.Add("D8_API_KEYS is required (comma-separated client API keys).");
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
        if (isDevelopment) foreach (var w in weak) warnings.Add(w + " (allowed in Development only)");
        else errors.AddRange(weak);

        var dbPath = config["D8_DB_PATH"];
        var options = new OrchestratorOptions
        {
            JoinToken = join ?? "",
            ApiKeys = keys,
            DbPath = string.IsNullOrWhiteSpace(dbPath) ? "data/d8.db" : dbPath,
            Store = StoreOf(config["D8_STORE"], errors),
            PostgresConnectionString = PostgresOf(config["D8_STORE"], config["D8_POSTGRES"], errors),
            HeartbeatInterval = Seconds(config, "D8_HEARTBEAT_SECONDS", 10, 1, 3600, errors),
            LeaseDuration = Seconds(config, "D8_LEASE_SECONDS", 60, 2, 86400, errors),
            OfflineAfter = Seconds(config, "D8_OFFLINE_AFTER_SECONDS", 30, 1, 86400, errors),
            MaxAttempts = (int)Number(config, "D8_MAX_ATTEMPTS", 3, 1, 100, errors),
            MaxBodyBytes = (long)Number(config, "D8_MAX_BODY_BYTES", 1024 * 1024, 1024, 1024L * 1024 * 1024, errors),
            MaxWait = Seconds(config, "D8_MAX_WAIT_SECONDS", 60, 1, 3600, errors),
            SweepInterval = TimeSpan.FromMilliseconds(Number(config, "D8_SWEEP_INTERVAL_MS", 1000, 10, 60000, errors)),
            DefaultRetryAfter = Seconds(config, "D8_DEFAULT_RETRY_AFTER_SECONDS", 5, 0, 3600, errors),
            RetentionAge = TimeSpan.FromDays(Number(config, "D8_RETENTION_DAYS", 7, 0.001, 36500, errors)),
            RetentionBatch = (int)Number(config, "D8_RETENTION_BATCH", 500, 1, 100_000, errors),
            RetentionInterval = Seconds(config, "D8_RETENTION_INTERVAL_SECONDS", 60, 1, 86400, errors),
            EvolutionRetentionAge = TimeSpan.FromDays(Number(config, "D8_EVOLUTION_RETENTION_DAYS", 30, 0.001, 36500, errors)),
            EvalCacheAge = TimeSpan.FromDays(Number(config, "D8_EVAL_CACHE_DAYS", 7, 0, 36500, errors)),
            IdempotencyWindow = TimeSpan.FromHours(Number(config, "D8_IDEMPOTENCY_WINDOW_HOURS", 24, 0, 876000, errors)),
            ForgetWorkersAfter = TimeSpan.FromHours(Number(config, "D8_WORKER_FORGET_HOURS", 24, 0.001, 876000, errors)),
            Scheduler = SchedulerOf(config["D8_SCHEDULER"], errors),
            SchedulerRecheck = TimeSpan.FromMilliseconds(Number(config, "D8_SCHEDULER_RECHECK_MS", 1000, 10, 60000, errors)),
            RevokeWorkersOnJoinRotation = Flag(config, "D8_REVOKE_ON_JOIN_ROTATION", errors),
        };

        if (errors.Count == 0 && options.LeaseDuration <= options.HeartbeatInterval)
        {
            errors.Add($"D8_LEASE_SECONDS ({options.LeaseDuration.TotalSeconds}) must be longer than D8_HEARTBEAT_SECONDS " +
                       $"({options.HeartbeatInterval.TotalSeconds}), or every lease expires between two heartbeats.");
        }
        if (errors.Count == 0 && options.IdempotencyWindow > options.RetentionAge)
        {
            errors.Add($"D8_IDEMPOTENCY_WINDOW_HOURS ({options.IdempotencyWindow.TotalHours}) must not exceed D8_RETENTION_DAYS " +
                       $"({options.RetentionAge.TotalDays} days): a key must not outlive the task it names.");
        }
        if (errors.Count > 0)
        {
            throw StartupFailure.Refusal("invalid configuration: " + string.Join(" ", errors));
        }
        return options;
    }

    private static SchedulerKind SchedulerOf(string? raw, List<string> errors)
    {
        switch (raw?.Trim().ToLowerInvariant())
        {
            case null or "" or "fastest":
                return SchedulerKind.Fastest;
            case "fifo":
                return SchedulerKind.Fifo;
            default:
                errors.Add($"D8_SCHEDULER='{raw}' must be 'fastest' (speed-aware, the default) or 'fifo' (first come, first served).");
                return SchedulerKind.Fastest;
        }
    }

    private static StoreKind StoreOf(string? raw, List<string> errors)
    {
        switch (raw?.Trim().ToLowerInvariant())
        {
            case null or "" or "sqlite":
                return StoreKind.Sqlite;
            case "postgres" or "postgresql":
                return StoreKind.Postgres;
            default:
                errors.Add($"D8_STORE='{raw}' must be 'sqlite' (a file under D8_DB_PATH, the default) or 'postgres' (a server named by D8_POSTGRES).");
                return StoreKind.Sqlite;
        }
    }

    /// <summary>D8_POSTGRES, required and parsed when D8_STORE=postgres (the server is reached later, at start-up).</summary>
    private static string? PostgresOf(string? store, string? raw, List<string> errors)
    {
        if (StoreOf(store, []) != StoreKind.Postgres) return string.IsNullOrWhiteSpace(raw) ? null : raw.Trim();
        if (string.IsNullOrWhiteSpace(raw))
        {
            errors.Add("D8_STORE=postgres needs D8_POSTGRES, a connection string such as 'Host=db;Username=d8;Password=…;Database=d8'.");
            return null;
        }
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(raw.Trim());
            return raw.Trim();
        }
        catch (ArgumentException e)
        {
            // The message names the bad keyword, never the string itself (it may hold a password).
            errors.Add($"D8_POSTGRES is not a valid connection string ({e.Message.TrimEnd('.')}): write it as 'Host=db;Username=d8;Password=…;Database=d8'.");
            return null;
        }
    }

    private static bool Flag(IConfiguration config, string key, List<string> errors)
    {
        var raw = config[key];
        if (string.IsNullOrWhiteSpace(raw)) return false;
        if (bool.TryParse(raw.Trim(), out var value)) return value;
        errors.Add($"{key}='{raw}' must be true or false.");
        return false;
    }

    private static TimeSpan Seconds(IConfiguration config, string key, double fallback, double min, double max, List<string> errors) =>
        TimeSpan.FromSeconds(Number(config, key, fallback, min, max, errors));

    private static double Number(IConfiguration config, string key, double fallback, double min, double max, List<string> errors)
    {
        var raw = config[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || value < min || value > max)
        {
            errors.Add($"{key}='{raw}' must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}.");
            return fallback;
        }
        return value;
    }
}

/// <summary>Where the orchestrator keeps its state (D8_STORE).</summary>
public enum StoreKind
{
    /// <summary>One SQLite file (D8_DB_PATH), the default.</summary>
    Sqlite,
    /// <summary>A PostgreSQL database (D8_POSTGRES).</summary>
    Postgres,
}
