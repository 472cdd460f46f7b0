using D8.Contracts;
using D8.Contracts.Trust;
using D8.Emulators.OpenAi;
using D8.Orchestrator.Tls;
using D8.Worker.Hosting;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>Workers and an orchestrator over HTTPS with a pinned self-made CA (real processes), and every refusal.</summary>
public sealed class PinnedTlsTests(ITestOutputHelper output)
{
    private static OpenAiEmulatorOptions Groq(string name) => new() { Name = name, ApiKey = TlsFleet.EmulatorKey, TokensPerAnswer = 4 };

    [Fact]
    public async Task Worker_joins_over_https_with_the_pinned_token_and_completes_a_task()
    {
        await using var groq = await OpenAiEmulator.StartAsync(Groq("groq-tls"));
        await using var fleet = await TlsFleet.StartAsync(output);

        var token = fleet.JoinTokenFromFile;
        Assert.StartsWith(JoinToken.Prefix, token, StringComparison.Ordinal);
        Assert.EndsWith("::" + fleet.Secret, token, StringComparison.Ordinal);
        await fleet.StartWorker("tls-worker", groq.BaseUrl + "/openai/v1", token).WaitForOutputAsync("Registered as worker", TlsFleet.Timeout);

        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "over tls", Provider = "groq" });
        var task = await fleet.Client.GetTaskAsync(submitted.Id, TimeSpan.FromSeconds(60));
        Assert.Equal(TaskState.Succeeded, task.State);

        // The pin is logged, the secret is not; keys and the token file are readable by their owner only.
        Assert.Contains(fleet.Pin, fleet.Orchestrator!.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(fleet.Secret, fleet.Orchestrator.Output, StringComparison.Ordinal);
        foreach (var file in OperatingSystem.IsWindows() ? [] : new[] { OrchestratorCertificates.CaKeyFile, OrchestratorCertificates.ServerKeyFile, OrchestratorCertificates.JoinTokenFile })
        {
#pragma warning disable CA1416 // Linux and macOS only, guarded above
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(fleet.TlsDir, file)));
#pragma warning restore CA1416
        }
        // `D8.Orchestrator join-token` prints the same token.
        var printed = Infrastructure.ProcessHost.Start("D8.Orchestrator", new Dictionary<string, string?>
        {
            ["D8_TLS_DIR"] = fleet.TlsDir, ["D8_DB_PATH"] = fleet.DbPath, ["D8_JOIN_TOKEN"] = fleet.Secret, ["D8_API_KEYS"] = fleet.ApiKey,
        }, ["join-token"], output, "join-token");
        Assert.Equal(0, await printed.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains(token, printed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_pin_is_refused_before_the_secret_is_sent_and_the_worker_stops()
    {
        await using var groq = await OpenAiEmulator.StartAsync(Groq("groq-wrong-pin"));
        await using var fleet = await TlsFleet.StartAsync(output);
        var otherPin = new string('a', 64);

        var worker = fleet.StartWorker("wrong-pin", groq.BaseUrl + "/openai/v1", JoinToken.Format(otherPin, fleet.Secret));

        Assert.Equal(OrchestratorTrustGuard.TrustExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("(WrongPin)", worker.Output, StringComparison.Ordinal);
        Assert.Contains($"the join token pins sha256:{JoinToken.Short(otherPin)}", worker.Output, StringComparison.Ordinal);
        Assert.Empty(await fleet.Client.GetWorkersAsync());
    }

    [Fact]
    public async Task A_certificate_not_signed_by_the_pinned_ca_is_refused_as_foreign()
    {
        var now = DateTimeOffset.UtcNow;
        using var pinned = CertificateFactory.CreateCa("pinned", now.AddDays(-1), now.AddYears(1));
        using var attacker = CertificateFactory.CreateCa("attacker", now.AddDays(-1), now.AddYears(1));
        using var leaf = CertificateFactory.CreateServer(attacker, ["127.0.0.1"], now.AddDays(-1), now.AddDays(30));
        // A man in the middle can copy the real CA's public certificate (it serves it at /tls/ca.pem), but cannot sign with it.
        await using var groq = await OpenAiEmulator.StartAsync(Groq("groq-foreign"));
        await using var fleet = await TlsFleet.StartAsync(output);
        await using var impostor = await ImpostorServer.StartAsync(leaf, pinned);

        var worker = fleet.StartWorker("foreign", groq.BaseUrl + "/openai/v1", JoinToken.Format(PinnedTrust.Fingerprint(pinned), fleet.Secret), impostor.Url);

        Assert.Equal(OrchestratorTrustGuard.TrustExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("(Foreign)", worker.Output, StringComparison.Ordinal);
        Assert.Contains("is not signed by the CA the join token pins", worker.Output, StringComparison.Ordinal);
        Assert.All(impostor.Seen, line => Assert.Equal("GET /tls/ca.pem auth=False", line));
    }

    [Fact]
    public async Task An_expired_certificate_is_refused_as_expired()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = CertificateFactory.CreateCa("expired-test", now.AddDays(-30), now.AddYears(1));
        using var leaf = CertificateFactory.CreateServer(ca, ["127.0.0.1"], now.AddDays(-30), now.AddDays(-1));
        var dir = Path.Combine(Path.GetTempPath(), "d8-tests", "expired-" + Guid.NewGuid().ToString("N")[..8]);
        var (cert, key) = TlsFleet.WritePem(dir, leaf, ca);
        await using var groq = await OpenAiEmulator.StartAsync(Groq("groq-expired"));
        await using var fleet = await TlsFleet.StartAsync(output, new Dictionary<string, string?> { ["D8_TLS_CERT_FILE"] = cert, ["D8_TLS_KEY_FILE"] = key });

        // A certificate of your own is pinned by its key (SPKI), and still checked for validity.
        var worker = fleet.StartWorker("expired", groq.BaseUrl + "/openai/v1", JoinToken.Format(PinnedTrust.SpkiFingerprint(leaf), fleet.Secret));

        Assert.Equal(OrchestratorTrustGuard.TrustExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("(Expired)", worker.Output, StringComparison.Ordinal);
        Assert.Contains("restart the orchestrator to renew it, or fix this machine's clock", worker.Output, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_plain_http_orchestrator_is_refused_when_the_token_pins_one()
    {
        await using var groq = await OpenAiEmulator.StartAsync(Groq("groq-plain"));
        // TLS off: the orchestrator answers plain HTTP on its port.
        await using var fleet = await TlsFleet.StartAsync(output, new Dictionary<string, string?> { ["D8_TLS"] = "false" });
        var token = JoinToken.Format(new string('b', 64), fleet.Secret);

        // An http:// URL with a pinned token: refused at start-up, nothing sent.
        var httpWorker = fleet.StartWorker("plain-url", groq.BaseUrl + "/openai/v1", token, new Uri($"http://127.0.0.1:{fleet.Port}/"));
        Assert.Equal(2, await httpWorker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("is plain HTTP but the join token pins the orchestrator's certificate", httpWorker.Output, StringComparison.Ordinal);

        // An https:// URL where plain HTTP answers: no handshake, its own message.
        var httpsWorker = fleet.StartWorker("plain-server", groq.BaseUrl + "/openai/v1", token);
        Assert.Equal(OrchestratorTrustGuard.TrustExitCode, await httpsWorker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("(NotTls)", httpsWorker.Output, StringComparison.Ordinal);
        Assert.Contains("the orchestrator serves plain HTTP there?", httpsWorker.Output, StringComparison.Ordinal);
    }
}
