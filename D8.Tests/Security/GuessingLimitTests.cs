using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Security;

/// <summary>Failed credentials are limited per client address; legitimate callers (other addresses, or only successes) are not slowed.</summary>
public sealed class GuessingLimitTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync(new Dictionary<string, string?>
    {
        ["D8_AUTH_FAILURE_LIMIT"] = "3",
        ["D8_AUTH_FAILURE_WINDOW_SECONDS"] = "600",
    });

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    /// <summary>An HttpClient whose connections come from <paramref name="source"/> (any 127.x address is this host on Linux).</summary>
    private HttpClient From(string source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (ctx, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
            await socket.ConnectAsync(ctx.DnsEndPoint, ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    }) { BaseAddress = _orch.BaseUrl };

    private static async Task<HttpResponseMessage> GetStats(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/stats");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Wrong_credentials_past_the_limit_get_429_with_retry_after_while_other_addresses_and_successes_are_not_slowed()
    {
        // A registered worker on 127.0.0.1 heartbeats far more often than the limit: successes are never counted.
        var client = _orch.CreateClient();
        var worker = await client.RegisterWorkerAsync(new RegisterWorkerRequest { Name = "legit", Provider = "groq", Models = ["m"], MaxConcurrency = 1 });
        for (var i = 0; i < 20; i++) await worker.HeartbeatAsync(new HeartbeatRequest());

        using var guesser = From("127.0.0.2");
        for (var i = 0; i < 3; i++)
        {
            using var wrong = await GetStats(guesser, "guess-" + i);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        using var limited = await GetStats(guesser, "guess-secret-4");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 600);
        Assert.DoesNotContain("guess-secret-4", await limited.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Blocked means blocked for that kind of credential: even the right key from that address waits, so guessing cannot go faster.
        using var rightKeyButBlocked = await GetStats(guesser, _orch.ApiKey);
        Assert.Equal(HttpStatusCode.TooManyRequests, rightKeyButBlocked.StatusCode);
        // Counts are per scheme: the API-key guesses do not block this address's join token.
        var joinFromGuesser = new OrchestratorClient(guesser) { JoinToken = _orch.JoinToken };
        await joinFromGuesser.CheckJoinTokenAsync();

        // Worker tokens (256 random bits) are never throttled: wrong ones answer 401 however many, right ones always pass.
        using var tokenGuesser = From("127.0.0.3");
        var fake = new WorkerClient(tokenGuesser, worker.Id, "not-the-token");
        for (var i = 0; i < 10; i++)
        {
            var refused = await Assert.ThrowsAsync<OrchestratorException>(() => fake.HeartbeatAsync(new HeartbeatRequest()));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        }

        // The legitimate worker and client on 127.0.0.1 carry on.
        await worker.HeartbeatAsync(new HeartbeatRequest());
        await client.GetStatsAsync();
    }
}

/// <summary>The limiter's windows, on fake time.</summary>
public sealed class FailedCredentialLimiterTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private const string ApiKey = D8.Orchestrator.Security.AuthSchemes.ApiKey;

    private D8.Orchestrator.Security.FailedCredentialLimiter Limiter(int limit, int maxEntries = 50_000) =>
        new(new(limit, TimeSpan.FromSeconds(60)) { MaxEntries = maxEntries }, _time,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<D8.Orchestrator.Security.FailedCredentialLimiter>.Instance,
            [D8.Orchestrator.Security.OnLinkPrefixes.Network(IPAddress.Parse("fd00:aa:bb:cc::1"), 64), IPNetwork.Parse("fe80::/64")]);

    [Fact]
    public void An_address_is_blocked_at_the_limit_until_its_window_ends_and_off_link_ipv6_counts_per_64()
    {
        using var limiter = Limiter(2);
        var a = IPAddress.Parse("fd00:1:2:3::10");
        var sameHost = IPAddress.Parse("fd00:1:2:3:aaaa:bbbb:cccc:dddd");
        var other = IPAddress.Parse("fd00:1:2:4::10");
        limiter.RecordFailure(ApiKey, a);
        Assert.Null(limiter.Blocked(ApiKey, a));
        limiter.RecordFailure(ApiKey, sameHost);
        Assert.Equal(TimeSpan.FromSeconds(60), limiter.Blocked(ApiKey, a));
        Assert.Null(limiter.Blocked(ApiKey, other));

        _time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), limiter.Blocked(ApiKey, sameHost));
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(limiter.Blocked(ApiKey, a));
        limiter.RecordFailure(ApiKey, a);
        Assert.Null(limiter.Blocked(ApiKey, a));
    }

    [Fact]
    public void On_link_ipv6_counts_per_address_and_each_scheme_counts_alone_and_worker_tokens_never()
    {
        using var limiter = Limiter(2);
        var phone = IPAddress.Parse("fd00:aa:bb:cc::99");
        var worker = IPAddress.Parse("fd00:aa:bb:cc::42");
        var linkLocalPhone = IPAddress.Parse("fe80::1234");
        var linkLocalWorker = IPAddress.Parse("fe80::5678");
        foreach (var guesser in new[] { phone, linkLocalPhone })
        {
            for (var i = 0; i < 5; i++) limiter.RecordFailure(ApiKey, guesser);
            Assert.NotNull(limiter.Blocked(ApiKey, guesser));
        }
        Assert.Null(limiter.Blocked(ApiKey, worker));
        Assert.Null(limiter.Blocked(ApiKey, linkLocalWorker));
        Assert.Null(limiter.Blocked(D8.Orchestrator.Security.AuthSchemes.JoinToken, phone));
        for (var i = 0; i < 100; i++) limiter.RecordFailure(D8.Orchestrator.Security.AuthSchemes.WorkerToken, phone);
        Assert.Null(limiter.Blocked(D8.Orchestrator.Security.AuthSchemes.WorkerToken, phone));
    }

    [Fact]
    public void Memory_is_bounded_and_expired_windows_are_pruned_on_a_timer()
    {
        using var limiter = Limiter(3, maxEntries: 100);
        for (var i = 0; i < 1000; i++) limiter.RecordFailure(ApiKey, new IPAddress(0x0A000000u + (uint)i));
        Assert.InRange(limiter.Count, 100, 101);
        // Past the bound new addresses share one window, so guessing from many addresses is still limited.
        Assert.NotNull(limiter.Blocked(ApiKey, IPAddress.Parse("10.9.9.9")));

        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(0, limiter.Count);
        Assert.Null(limiter.Blocked(ApiKey, IPAddress.Parse("10.9.9.9")));
    }

    [Fact]
    public void Zero_means_no_limit()
    {
        using var limiter = Limiter(0);
        var a = IPAddress.Parse("192.168.1.23");
        for (var i = 0; i < 100; i++) limiter.RecordFailure(ApiKey, a);
        Assert.Null(limiter.Blocked(ApiKey, a));
    }

    [Fact]
    public void The_hosts_own_prefixes_include_link_local_when_it_has_one()
    {
        var prefixes = D8.Orchestrator.Security.OnLinkPrefixes.Read();
        var hasLinkLocal = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up
                && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Any(a => a.Address.IsIPv6LinkLocal);
        Assert.Equal(hasLinkLocal, prefixes.Any(p => p.Contains(IPAddress.Parse("fe80::1"))));
    }
}
