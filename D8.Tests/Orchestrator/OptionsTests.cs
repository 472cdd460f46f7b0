using D8.Orchestrator.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace D8.Tests.Orchestrator;

/// <summary>The D8_* keys are read, defaulted and validated with messages that name the key.</summary>
[Trait("Category", "Unit")]
public class OptionsTests
{
    /// <summary>Secrets strong enough for production (outside Development weak ones are refused).</summary>
    internal const string Join = "join-0f1e2d3c4b5a69788796a5b4c3d2e1f0", KeyA = "key-a-0f1e2d3c4b5a69788796a5b4c3d2e1f0", KeyB = "key-b-9a8b7c6d5e4f30211203f4e5d6c7b8a9";

    /// <summary>The orchestrator's keys read and refused the way start-up does (one refusal naming every bad key).</summary>
    internal static OrchestratorOptions Load(IConfiguration config, bool isDevelopment, ICollection<string> warnings) =>
        SettingsReader.Load(config, settings => OrchestratorOptions.Load(settings, isDevelopment, warnings));

    private static IConfiguration Config(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value))).Build();

    [Fact]
    public void Defaults_match_the_documented_table()
    {
        var o = Load(Config(("D8_JOIN_TOKEN", Join), ("D8_API_KEYS", $"{KeyA}, {KeyB} ,")), false, []);
        Assert.Equal([KeyA, KeyB], o.ApiKeys);
        Assert.Equal("data/d8.db", o.DbPath);
        Assert.Equal(TimeSpan.FromSeconds(10), o.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), o.LeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(30), o.OfflineAfter);
        Assert.Equal(3, o.MaxAttempts);
        Assert.Equal(1048576, o.MaxBodyBytes);
        Assert.Equal(TimeSpan.FromSeconds(60), o.MaxWait);
        Assert.Equal(TimeSpan.FromDays(7), o.RetentionAge);
        Assert.Equal(500, o.RetentionBatch);
        Assert.Equal(TimeSpan.FromMinutes(1), o.RetentionInterval);
        Assert.Equal(TimeSpan.FromHours(24), o.IdempotencyWindow);
        Assert.Equal(TimeSpan.FromHours(24), o.ForgetWorkersAfter);
    }

    [Fact]
    public void Retention_keys_are_read_and_the_idempotency_window_may_not_outlive_retention()
    {
        var o = Load(Config(("D8_JOIN_TOKEN", Join), ("D8_API_KEYS", KeyA), ("D8_RETENTION_DAYS", "2"),
            ("D8_IDEMPOTENCY_WINDOW_HOURS", "48"), ("D8_WORKER_FORGET_HOURS", "1.5"), ("D8_RETENTION_BATCH", "50")), false, []);
        Assert.Equal(TimeSpan.FromDays(2), o.RetentionAge);
        Assert.Equal(TimeSpan.FromHours(48), o.IdempotencyWindow);
        Assert.Equal(TimeSpan.FromHours(1.5), o.ForgetWorkersAfter);
        Assert.Equal(50, o.RetentionBatch);

        var ex = Assert.Throws<InvalidOperationException>(() => Load(Config(("D8_JOIN_TOKEN", Join),
            ("D8_API_KEYS", KeyA), ("D8_RETENTION_DAYS", "1"), ("D8_IDEMPOTENCY_WINDOW_HOURS", "25")), false, []));
        Assert.Contains("D8_IDEMPOTENCY_WINDOW_HOURS", ex.Message);
        Assert.Contains("D8_RETENTION_DAYS", ex.Message);
    }

    [Fact]
    public void Production_without_secrets_refuses_to_start_naming_both_keys()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Load(Config(), false, []));
        Assert.Contains("D8_JOIN_TOKEN", ex.Message);
        Assert.Contains("D8_API_KEYS", ex.Message);
    }

    [Fact]
    public void Development_without_secrets_uses_dev_values_and_warns()
    {
        var warnings = new List<string>();
        var o = Load(Config(), true, warnings);
        Assert.Equal(OrchestratorOptions.DevJoinToken, o.JoinToken);
        Assert.Equal([OrchestratorOptions.DevApiKey], o.ApiKeys);
        Assert.Equal(2, warnings.Count);
    }

    [Theory]
    [InlineData("D8_LEASE_SECONDS", "soon")]
    [InlineData("D8_MAX_ATTEMPTS", "0")]
    [InlineData("D8_MAX_BODY_BYTES", "-1")]
    [InlineData("D8_HEARTBEAT_SECONDS", "0")]
    [InlineData("D8_OFFLINE_AFTER_SECONDS", "NaN")]
    public void Bad_values_are_refused_with_the_key_in_the_message(string key, string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Load(Config(("D8_JOIN_TOKEN", Join), ("D8_API_KEYS", KeyA), (key, value)), false, []));
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public void Lease_must_outlast_the_heartbeat_interval()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Load(Config(
            ("D8_JOIN_TOKEN", Join), ("D8_API_KEYS", KeyA), ("D8_HEARTBEAT_SECONDS", "30"), ("D8_LEASE_SECONDS", "20")), false, []));
        Assert.Contains("D8_LEASE_SECONDS", ex.Message);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("changeme")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("0123456789abcdef")]
    public void Weak_secrets_are_refused_outside_development_with_how_to_make_one(string weak)
    {
        var join = Assert.Throws<InvalidOperationException>(() => Load(Config(("D8_JOIN_TOKEN", weak), ("D8_API_KEYS", KeyA)), false, []));
        Assert.Contains("D8_JOIN_TOKEN is too weak", join.Message);
        Assert.Contains("openssl rand -hex 32", join.Message);
        Assert.DoesNotContain(weak, join.Message.Replace("D8_JOIN_TOKEN", ""), StringComparison.Ordinal);
        var key = Assert.Throws<InvalidOperationException>(() => Load(Config(("D8_JOIN_TOKEN", Join), ("D8_API_KEYS", KeyA + "," + weak)), false, []));
        Assert.Contains("D8_API_KEYS holds a key that is too weak", key.Message);

        var warnings = new List<string>();
        Load(Config(("D8_JOIN_TOKEN", weak), ("D8_API_KEYS", weak)), true, warnings);
        Assert.Equal(2, warnings.Count(w => w.Contains("allowed in Development only", StringComparison.Ordinal)));
    }

    [Fact]
    public void Start_up_refuses_once_naming_every_bad_key_of_every_loader()
    {
        // The real start-up path, stopped before it writes anything: the data folder is never created.
        var folder = Path.Combine(Path.GetTempPath(), "d8-options-" + Guid.NewGuid().ToString("N"));
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["D8_JOIN_TOKEN"] = Join, ["D8_API_KEYS"] = KeyA, ["D8_DB_PATH"] = Path.Combine(folder, "d8.db"),
            ["D8_HEARTBEAT_SECONDS"] = "often", ["D8_TLS"] = "maybe", ["D8_AUTH_FAILURE_LIMIT"] = "-1",
            ["D8_GATEWAY_MAX_WAIT_SECONDS"] = "0", ["D8_BATCH_WINDOW"] = "lots", ["D8_STREAM_TOTAL_CHARS"] = "0",
        });

        var refusal = Assert.Throws<InvalidOperationException>(() => builder.AddOrchestrator());

        Assert.Equal(StartupFailure.Describe(refusal), refusal.Message);
        Assert.StartsWith(SettingsReader.Prefix, refusal.Message, StringComparison.Ordinal);
        foreach (var key in new[] { "D8_HEARTBEAT_SECONDS='often'", "D8_TLS='maybe'", "D8_AUTH_FAILURE_LIMIT='-1'",
                     "D8_GATEWAY_MAX_WAIT_SECONDS='0'", "D8_BATCH_WINDOW='lots'", "D8_STREAM_TOTAL_CHARS='0'" })
        {
            Assert.Contains(key, refusal.Message, StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(folder));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", 128)] // openssl rand -hex 16
    [InlineData("3f9a0c1d7e2b4a6f8c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b", 256)] // openssl rand -hex 32
    public void Random_hex_counts_four_bits_a_digit(string secret, double bits) =>
        Assert.Equal(bits, D8.Orchestrator.Security.SecretStrength.EstimateBits(secret), 1);
}
