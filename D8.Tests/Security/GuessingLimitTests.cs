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
        var worker = _orch.CreateClient();
        await worker.RegisterAsync(new RegisterWorkerRequest { Name = "legit", Provider = "groq", Models = ["m"], MaxConcurrency = 1 });
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
        // Blocked means blocked: even the right key (or a join token) from that address waits, so guessing cannot go faster.
        using var rightKeyButBlocked = await GetStats(guesser, _orch.ApiKey);
        Assert.Equal(HttpStatusCode.TooManyRequests, rightKeyButBlocked.StatusCode);
        var joinFromGuesser = new OrchestratorClient(guesser) { JoinToken = "join-guess" };
        var join = await Assert.ThrowsAsync<OrchestratorException>(() => joinFromGuesser.CheckJoinTokenAsync());
        Assert.Equal(HttpStatusCode.TooManyRequests, join.Status);

        // Worker tokens count too, per address.
        using var tokenGuesser = From("127.0.0.3");
        var fake = new OrchestratorClient(tokenGuesser) { WorkerId = worker.WorkerId, WorkerToken = "not-the-token" };
        for (var i = 0; i < 3; i++)
        {
            var refused = await Assert.ThrowsAsync<OrchestratorException>(() => fake.HeartbeatAsync(new HeartbeatRequest()));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        }
        var throttled = await Assert.ThrowsAsync<OrchestratorException>(() => fake.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);

        // The legitimate worker and client on 127.0.0.1 carry on.
        await worker.HeartbeatAsync(new HeartbeatRequest());
        await worker.GetStatsAsync();
    }
}

/// <summary>The limiter's windows, on fake time.</summary>
public sealed class FailedCredentialLimiterTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    private D8.Orchestrator.Security.FailedCredentialLimiter Limiter(int limit) => new(new(limit, TimeSpan.FromSeconds(60)), _time,
        Microsoft.Extensions.Logging.Abstractions.NullLogger<D8.Orchestrator.Security.FailedCredentialLimiter>.Instance);

    [Fact]
    public void An_address_is_blocked_at_the_limit_until_its_window_ends_and_ipv6_counts_per_64()
    {
        var limiter = Limiter(2);
        var a = IPAddress.Parse("fd00:1:2:3::10");
        var sameHost = IPAddress.Parse("fd00:1:2:3:aaaa:bbbb:cccc:dddd");
        var other = IPAddress.Parse("fd00:1:2:4::10");
        limiter.RecordFailure(a);
        Assert.Null(limiter.Blocked(a));
        limiter.RecordFailure(sameHost);
        Assert.Equal(TimeSpan.FromSeconds(60), limiter.Blocked(a));
        Assert.Null(limiter.Blocked(other));

        _time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(TimeSpan.FromSeconds(15), limiter.Blocked(sameHost));
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(limiter.Blocked(a));
        limiter.RecordFailure(a);
        Assert.Null(limiter.Blocked(a));
    }

    [Fact]
    public void Zero_means_no_limit()
    {
        var limiter = Limiter(0);
        var a = IPAddress.Parse("192.168.1.23");
        for (var i = 0; i < 100; i++) limiter.RecordFailure(a);
        Assert.Null(limiter.Blocked(a));
    }
}
