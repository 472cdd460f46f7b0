using D8.Contracts;
using D8.Emulators.OpenAi;
using D8.Orchestrator.Tls;
using D8.Worker.Hosting;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>Renewing the server certificate, replacing the CA and changing the join token, with real processes.</summary>
public sealed class RotationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_renewed_certificate_keeps_workers_and_a_replaced_ca_stops_them_with_the_wrong_pin_line()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-rotate", ApiKey = TlsFleet.EmulatorKey, TokensPerAnswer = 4 });
        await using var fleet = await TlsFleet.StartAsync(output);
        var pin = fleet.Pin;
        var worker = fleet.StartWorker("rotating", groq.BaseUrl + "/openai/v1", fleet.JoinTokenFromFile);
        await worker.WaitForOutputAsync("Registered as worker", TlsFleet.Timeout);

        // Server certificate renewed by the same CA: same pin, the running worker carries on.
        await fleet.StopOrchestratorAsync();
        var oldServer = File.ReadAllText(Path.Combine(fleet.TlsDir, OrchestratorCertificates.ServerCertFile));
        File.Delete(Path.Combine(fleet.TlsDir, OrchestratorCertificates.ServerCertFile));
        await fleet.StartOrchestratorAsync();
        Assert.NotEqual(oldServer, File.ReadAllText(Path.Combine(fleet.TlsDir, OrchestratorCertificates.ServerCertFile)));
        Assert.Equal(pin, fleet.Pin);
        var submitted = await fleet.Client.SubmitAsync(new SubmitTaskRequest { Prompt = "after renewal", Provider = "groq" });
        Assert.Equal(TaskState.Succeeded, (await fleet.Client.GetTaskAsync(submitted.Id, TimeSpan.FromSeconds(60))).State);

        // CA replaced: a new pin; the worker holding the old token stops with the wrong-pin line, not a silent loop.
        await fleet.StopOrchestratorAsync();
        File.Delete(Path.Combine(fleet.TlsDir, OrchestratorCertificates.CaCertFile));
        File.Delete(Path.Combine(fleet.TlsDir, OrchestratorCertificates.CaKeyFile));
        await fleet.StartOrchestratorAsync();
        Assert.NotEqual(pin, fleet.Pin);
        Assert.Equal(OrchestratorTrustGuard.TrustExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("(WrongPin)", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_with_the_old_join_token_is_told_the_token_was_refused()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-old-token", ApiKey = TlsFleet.EmulatorKey });
        var newSecret = "rotated-" + Guid.NewGuid().ToString("N");
        await using var fleet = await TlsFleet.StartAsync(output, new Dictionary<string, string?> { ["D8_JOIN_TOKEN"] = newSecret });
        var oldToken = D8.Contracts.Trust.JoinToken.Format(fleet.Pin, fleet.Secret);

        var worker = fleet.StartWorker("old-token", groq.BaseUrl + "/openai/v1", oldToken);
        await worker.WaitForOutputAsync("refused the join token (D8_JOIN_TOKEN)", TlsFleet.Timeout);
        Assert.DoesNotContain(fleet.Secret, worker.Output, StringComparison.Ordinal);

        var fresh = fleet.StartWorker("new-token", groq.BaseUrl + "/openai/v1", fleet.JoinTokenFromFile);
        await fresh.WaitForOutputAsync("Registered as worker", TlsFleet.Timeout);
        Assert.EndsWith("::" + newSecret, fleet.JoinTokenFromFile, StringComparison.Ordinal);
    }
}
