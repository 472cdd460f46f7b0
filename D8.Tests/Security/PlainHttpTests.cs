using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using D8.Contracts.Trust;
using D8.Emulators.OpenAi;
using D8.Tests.Cli;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>No credential goes over plain HTTP to a network address without D8_ALLOW_PLAINTEXT; an http:// port that speaks TLS is named.</summary>
public sealed class PlainHttpTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("http://192.168.1.10:8080/", true)]
    [InlineData("http://[fe80::1]:8080/", true)]
    [InlineData("http://orchestrator:8080/", true)]
    [InlineData("http://10.0.0.1/", true)]
    [InlineData("http://localhost:5080/", false)]
    [InlineData("http://127.0.0.1:5080/", false)]
    [InlineData("http://127.8.9.10:5080/", false)]
    [InlineData("http://[::1]:5080/", false)]
    [InlineData("https://192.168.1.10:8080/", false)]
    public void Refusal_is_for_plain_http_to_anything_but_loopback(string url, bool refused)
    {
        var uri = new Uri(url);
        Assert.Equal(refused, PlainHttp.Refusal(uri, allowed: false) is not null);
        Assert.Null(PlainHttp.Refusal(uri, allowed: true));
        if (refused) Assert.Contains("D8_ALLOW_PLAINTEXT=true", PlainHttp.Refusal(uri, false), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("1", true)]
    [InlineData("yes", true)]
    [InlineData("false", false)]
    [InlineData(null, false)]
    public void The_opt_in_reads_true_1_or_yes(string? value, bool allowed) => Assert.Equal(allowed, PlainHttp.IsAllowed(value));

    /// <summary>A non-loopback address of this machine: a refusal bug would connect locally, never beyond the host.</summary>
    private static IPAddress? OwnNetworkAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    [Fact]
    public async Task A_worker_refuses_a_bare_secret_over_plain_http_to_a_network_address_with_exit_code_4()
    {
        if (OwnNetworkAddress() is not { } address) return; // no network interface: nothing to refuse
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-plain-net", ApiKey = TlsFleet.EmulatorKey });
        await using var fleet = await TlsFleet.StartAsync(output);

        var worker = fleet.StartWorker("plain-net", groq.BaseUrl + "/openai/v1", fleet.Secret, new Uri($"http://{address}:{fleet.Port}/"));

        Assert.Equal(PlainHttp.ExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("is plain HTTP to a network address", worker.Output, StringComparison.Ordinal);
        Assert.Contains("D8_ALLOW_PLAINTEXT=true", worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(fleet.Secret, worker.Output, StringComparison.Ordinal);
        Assert.Empty(await fleet.Client.GetWorkersAsync());
    }

    [Fact]
    public async Task A_worker_given_http_for_a_port_that_speaks_tls_says_so_and_stops_with_exit_code_4()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-speaks-tls", ApiKey = TlsFleet.EmulatorKey });
        await using var fleet = await TlsFleet.StartAsync(output);

        // Loopback is allowed in clear, so the request is tried; its failure is recognised instead of retried forever.
        var worker = fleet.StartWorker("http-to-tls", groq.BaseUrl + "/openai/v1", fleet.Secret, new Uri($"http://127.0.0.1:{fleet.Port}/"));

        Assert.Equal(PlainHttp.ExitCode, await worker.WaitForExitAsync(TlsFleet.Timeout));
        Assert.Contains("this orchestrator speaks HTTPS", worker.Output, StringComparison.Ordinal);
        Assert.Contains($"use https://127.0.0.1:{fleet.Port}/", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task D8_refuses_credentials_over_plain_http_to_a_network_address_and_a_pin_with_http()
    {
        await using var fleet = await TlsFleet.StartAsync(output);
        using var cli = new CliRun { System = new FakeSystem() };
        var address = OwnNetworkAddress() ?? IPAddress.Parse("192.0.2.1");
        var network = $"http://{address}:{fleet.Port}/";

        var tasks = await cli.RunAsync("tasks", "--url", network, "--api-key", fleet.ApiKey);
        Assert.Equal(PlainHttp.ExitCode, tasks.ExitCode);
        Assert.Contains("is plain HTTP to a network address", tasks.Err, StringComparison.Ordinal);

        var setup = await cli.RunAsync("setup", "worker", "--non-interactive", "--provider", "groq", "--model", "m",
            "--orchestrator-url", network, "--join-token", fleet.Secret, "--api-key", "k");
        Assert.Equal(PlainHttp.ExitCode, setup.ExitCode);
        Assert.Contains("is plain HTTP to a network address", setup.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(cli.PathOf(".env")));

        // A pin can only be checked over TLS: refused with http://, even on loopback.
        cli.Variables["D8_ORCHESTRATOR_PIN"] = fleet.Pin;
        var pinned = await cli.RunAsync("tasks", "--url", $"http://127.0.0.1:{fleet.Port}/", "--api-key", fleet.ApiKey);
        Assert.Equal(PlainHttp.ExitCode, pinned.ExitCode);
        Assert.Contains("is plain HTTP but a pin is set", pinned.Err, StringComparison.Ordinal);

        // http:// to loopback where TLS answers: named.
        cli.Variables.Remove("D8_ORCHESTRATOR_PIN");
        var tls = await cli.RunAsync("tasks", "--url", $"http://127.0.0.1:{fleet.Port}/", "--api-key", fleet.ApiKey);
        Assert.Equal(PlainHttp.ExitCode, tls.ExitCode);
        Assert.Contains("this orchestrator speaks HTTPS", tls.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_does_not_send_the_join_token_over_plain_http_to_a_network_address()
    {
        using var cli = new CliRun { System = new FakeSystem() };
        File.WriteAllLines(cli.PathOf(".env"), ["D8_PROVIDER=groq", "D8_ORCHESTRATOR_URL=http://192.168.1.10:8080", "D8_JOIN_TOKEN=secret", "GROQ_API_KEY=k"]);

        var result = await cli.RunAsync("doctor", "--only", ".env");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("is plain HTTP to a network address", result.Out, StringComparison.Ordinal);
    }
}
