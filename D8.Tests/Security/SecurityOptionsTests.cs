using D8.Contracts.Trust;
using D8.Orchestrator.Security;
using D8.Orchestrator.Tls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace D8.Tests.Security;

/// <summary>The D8_TLS* and D8_AUTH_FAILURE_* keys and the join token format, validated with a message naming the key.</summary>
[Trait("Category", "Unit")]
public sealed class SecurityOptionsTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Theory]
    [InlineData("http://127.0.0.1:5080", false)]
    [InlineData("http://localhost:5080;http://[::1]:5081", false)]
    [InlineData("http://0.0.0.0:8080", true)]
    [InlineData("http://+:8080", true)]
    [InlineData("http://192.168.1.10:8080", true)]
    public void Tls_is_on_by_default_unless_every_address_is_loopback(string urls, bool enabled)
    {
        var settings = new SettingsReader(Config(("urls", urls)));
        Assert.Equal(enabled, TlsOptions.Load(settings, "data/d8.db").Enabled);
        Assert.Empty(settings.Errors);
    }

    [Fact]
    public void Http_ports_bind_every_interface_so_tls_is_on_and_an_explicit_false_turns_it_off()
    {
        var on = new SettingsReader(Config(("http_ports", "8080")));
        Assert.True(TlsOptions.Load(on, "d8.db").Enabled);
        var settings = new SettingsReader(Config(("http_ports", "8080"), ("D8_TLS", "false")));
        var off = TlsOptions.Load(settings, "d8.db");
        Assert.False(off.Enabled);
        Assert.True(off.Explicit);
        Assert.Equal(Path.Combine(Path.GetFullPath("."), "tls"), off.Directory);
        Assert.Empty(on.Errors.Concat(settings.Errors));
    }

    [Fact]
    public void Bad_tls_and_limit_values_are_named()
    {
        var settings = new SettingsReader(Config(("D8_TLS", "maybe"), ("D8_TLS_CERT_FILE", "/nonexistent.crt"), ("D8_TLS_CERT_DAYS", "0"),
            ("D8_AUTH_FAILURE_LIMIT", "-1"), ("D8_AUTH_FAILURE_WINDOW_SECONDS", "0")));
        TlsOptions.Load(settings, "d8.db");
        FailureLimitOptions.Load(settings);
        // Both loaders report into one refusal: one line, every bad key.
        var all = Assert.Throws<InvalidOperationException>(settings.ThrowIfInvalid).Message;
        Assert.StartsWith(SettingsReader.Prefix, all, StringComparison.Ordinal);
        foreach (var key in new[] { "D8_TLS=", "D8_TLS_CERT_FILE and D8_TLS_KEY_FILE", "does not exist", "D8_TLS_CERT_DAYS", "D8_AUTH_FAILURE_LIMIT", "D8_AUTH_FAILURE_WINDOW_SECONDS" })
        {
            Assert.Contains(key, all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Join_tokens_parse_pinned_or_bare_and_never_print_the_secret()
    {
        var pin = new string('A', 64);
        Assert.True(JoinToken.TryParse(JoinToken.Format(pin, "s3cret::with-colons"), out var pinned, out _));
        Assert.Equal(pin.ToLowerInvariant(), pinned.Pin);
        Assert.Equal("s3cret::with-colons", pinned.Secret);
        Assert.DoesNotContain("s3cret", pinned.ToString(), StringComparison.Ordinal);

        Assert.True(JoinToken.TryParse("  plain-secret ", out var bare, out _));
        Assert.False(bare.IsPinned);
        Assert.Equal("plain-secret", bare.Secret);

        Assert.False(JoinToken.TryParse("D8J1-abc::s3cret", out _, out var shortPin));
        Assert.DoesNotContain("s3cret", shortPin, StringComparison.Ordinal);
        Assert.False(JoinToken.TryParse(JoinToken.Prefix + pin + "::", out _, out var noSecret));
        Assert.Contains("no secret", noSecret, StringComparison.Ordinal);
        Assert.False(JoinToken.TryParse("", out _, out _));
    }
}
