using D8.Contracts.Trust;
using D8.Tests.Cli;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>d8 setup worker and d8 doctor check the join token's pin against a real HTTPS orchestrator.</summary>
public sealed class CliPinTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Join_token_is_shown_and_setup_worker_accepts_it_and_refuses_a_wrong_pin_with_its_message()
    {
        await using var fleet = await TlsFleet.StartAsync(output);
        using var cli = new CliRun { System = new FakeSystem() };
        using var noOllama = Infrastructure.FreePort.Hold();
        cli.Variables["D8_OLLAMA_URL"] = noOllama.Url;

        // d8 join-token prints what the orchestrator wrote; --pin only the public part.
        var shown = await cli.RunAsync("join-token", "--tls-dir", fleet.TlsDir);
        Assert.Equal(fleet.JoinTokenFromFile, shown.Out.Trim());
        var pin = await cli.RunAsync("join-token", "--tls-dir", fleet.TlsDir, "--pin");
        Assert.Equal(fleet.Pin, pin.Out.Trim());

        var ok = await cli.RunAsync("setup", "worker", "--non-interactive", "--provider", "groq", "--model", "m",
            "--orchestrator-url", fleet.HttpsUrl.AbsoluteUri, "--join-token", fleet.JoinTokenFromFile, "--api-key", "k",
            "--base-url", "http://127.0.0.1:1/openai/v1");
        Assert.Contains("certificate checked against the pinned CA", ok.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(fleet.Secret, ok.Out + ok.Err, StringComparison.Ordinal);

        var wrong = await cli.RunAsync("setup", "worker", "--non-interactive", "--provider", "groq", "--model", "m",
            "--orchestrator-url", fleet.HttpsUrl.AbsoluteUri, "--join-token", JoinToken.Format(new string('c', 64), fleet.Secret));
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("certificate was refused (WrongPin)", wrong.Out + wrong.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_checks_the_pin_for_real()
    {
        await using var fleet = await TlsFleet.StartAsync(output);
        using var cli = new CliRun { System = new FakeSystem() };
        void WriteEnv(string token) => File.WriteAllLines(cli.PathOf(".env"),
            ["D8_PROVIDER=groq", $"D8_ORCHESTRATOR_URL={fleet.HttpsUrl.AbsoluteUri.TrimEnd('/')}", $"D8_JOIN_TOKEN={token}", "GROQ_API_KEY=k"]);

        WriteEnv(fleet.JoinTokenFromFile);
        var ok = await cli.RunAsync("doctor", "--only", "orchestrator", "join-token");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains("certificate checked against the pinned CA", ok.Out, StringComparison.Ordinal);

        WriteEnv(JoinToken.Format(new string('d', 64), fleet.Secret));
        var wrong = await cli.RunAsync("doctor", "--only", "orchestrator", "join-token");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("certificate was refused (WrongPin)", wrong.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(fleet.Secret, wrong.Out + wrong.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_commands_trust_the_self_made_ca_only_through_the_pin()
    {
        await using var fleet = await TlsFleet.StartAsync(output);
        using var cli = new CliRun { System = new FakeSystem() };
        string[] tasks = ["tasks", "--url", fleet.HttpsUrl.AbsoluteUri, "--api-key", fleet.ApiKey];

        var untrusted = await cli.RunAsync(tasks);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.Contains("is not trusted by this system", untrusted.Err, StringComparison.Ordinal);
        Assert.Contains("D8_ORCHESTRATOR_PIN", untrusted.Err, StringComparison.Ordinal);

        cli.Variables["D8_ORCHESTRATOR_PIN"] = fleet.Pin;
        var pinned = await cli.RunAsync(tasks);
        Assert.True(pinned.ExitCode == 0, pinned.ToString());
    }
}
