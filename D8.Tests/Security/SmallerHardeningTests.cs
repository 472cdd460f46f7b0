using System.Text.Json;
using D8.Cli;
using D8.Cli.Evolve;
using D8.Cli.Setup;
using D8.Contracts.Trust;
using D8.Orchestrator.Evolution;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Tls;

namespace D8.Tests.Security;

/// <summary>The smaller gaps: a bounded CA download, private files and folders, a YAML reader that cannot be blown up, a bounded schema cache.</summary>
[Trait("Category", "Unit")]
public sealed class SmallerHardeningTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "d8-tests", "hardening-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_man_in_the_middle_cannot_make_a_worker_read_the_ca_forever()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = CertificateFactory.CreateCa("mitm", now.AddDays(-1), now.AddYears(1));
        using var leaf = CertificateFactory.CreateServer(ca, ["127.0.0.1"], now.AddDays(-1), now.AddDays(30));
        // An endless body without a length.
        await using var mitm = await ImpostorServer.StartAsync(leaf, ca, async ctx =>
        {
            var chunk = new byte[16 * 1024];
            while (!ctx.RequestAborted.IsCancellationRequested) await ctx.Response.Body.WriteAsync(chunk, ctx.RequestAborted);
        });

        var trust = new PinnedTrust(PinnedTrust.Fingerprint(ca), TimeProvider.System);
        var refused = await Assert.ThrowsAsync<TrustFailureException>(() => trust.EnsureCaAsync(mitm.Url, false, CancellationToken.None));
        Assert.Contains("larger than 64 KB", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Env_file_and_data_folders_are_private_and_loose_key_files_are_reported()
    {
        if (OperatingSystem.IsWindows()) return;
        var env = Path.Combine(_dir, "sub", ".env");
        var file = EnvFile.Load(env);
        file.Set("D8_JOIN_TOKEN", "secret");
        file.Save(env);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(env));

        var data = Path.Combine(_dir, "data", "tls");
        PrivateFolder.Create(data);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));

        var key = Path.Combine(data, "server.key");
        File.WriteAllText(key, "k");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Assert.Contains("chmod 600", PrivateFolder.LooseModeWarning(key), StringComparison.Ordinal);
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Null(PrivateFolder.LooseModeWarning(key));
    }

    [Fact]
    public void Yaml_aliases_cannot_expand_into_billions_and_duplicate_keys_are_a_clear_error()
    {
        var laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
        var previous = "a";
        foreach (var name in new[] { "b", "c", "d", "e", "f", "g", "h", "i" })
        {
            laughs += $"{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n";
            previous = name;
        }
        var bomb = Assert.Throws<CliException>(() => SpecFile.Parse(laughs, "bomb.yaml"));
        Assert.Contains($"more than {SpecFile.MaxNodes} values", bomb.Message, StringComparison.Ordinal);

        var twice = Assert.Throws<CliException>(() => SpecFile.Parse("name: a\nname: b\n", "twice.yaml"));
        Assert.Contains("twice.yaml", twice.Message, StringComparison.Ordinal);
        Assert.Contains("name", twice.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_schema_cache_stays_bounded()
    {
        for (var i = 0; i < Checkers.MaxCachedSchemas + 50; i++)
        {
            using var schema = JsonDocument.Parse($"{{\"type\":\"object\",\"title\":\"s{i}\"}}");
            Checkers.JsonSchemaValid(schema.RootElement, "{}");
        }
        Assert.InRange(Checkers.CachedSchemas, 1, Checkers.MaxCachedSchemas);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
