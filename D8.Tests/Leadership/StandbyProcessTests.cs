using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using D8.Contracts;
using D8.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace D8.Tests.Leadership;

/// <summary>
/// Two real orchestrator processes on one PostgreSQL database: the second is a standby that answers /health as such
/// and every API call with 503 + Retry-After + the active one's URL; a client given both URLs follows the active one;
/// after <c>kill -9</c> of the active one the standby takes over, the restarted one is a standby, and an active one
/// whose lease is taken from it stops with exit code 3.
/// </summary>
public sealed class StandbyProcessTests(PostgresClusterFixture cluster, ITestOutputHelper log) : IClassFixture<PostgresClusterFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private const double LeaseSeconds = 3;

    [PostgresFact]
    public async Task Standby_refuses_with_the_active_url_clients_follow_and_it_takes_over_after_a_kill()
    {
        var database = await cluster.Server.CreateDatabaseAsync("standby");
        await using var pair = new OrchestratorPair(database, log, LeaseSeconds);
        var a = pair.Start(0);
        await pair.WaitForRoleAsync(0, "active");
        var b = pair.Start(1);
        await pair.WaitForRoleAsync(1, "standby");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using (var health = await http.GetAsync(new Uri(pair.Urls[1], "health")))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("standby", body.GetProperty("role").GetString());
            Assert.Equal(pair.PublicUrl(0), body.GetProperty("active_url").GetString());
            Assert.Equal(pair.PublicUrl(0), health.Headers.GetValues("X-D8-Active").Single());
        }
        foreach (var (method, path) in new[] { (HttpMethod.Get, "api/tasks"), (HttpMethod.Post, "api/workers/w1/leases"), (HttpMethod.Get, "api/stats") })
        {
            using var request = new HttpRequestMessage(method, new Uri(pair.Urls[1], path));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pair.ApiKey);
            using var refused = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"{path}: Retry-After {refused.Headers.RetryAfter}");
            Assert.Equal(pair.PublicUrl(0), refused.Headers.GetValues("X-D8-Active").Single());
            var problem = await refused.Content.ReadFromJsonAsync(D8JsonContext.Default.Problem);
            Assert.Equal(pair.PublicUrl(0), problem!.ActiveUrl);
            Assert.Equal(503, problem.Status);
        }
        using (var chat = await http.PostAsJsonAsync(new Uri(pair.Urls[1], "v1/chat/completions"), new { model = "m", messages = Array.Empty<object>() }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
            var error = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Contains(pair.PublicUrl(0), error.GetProperty("message").GetString());
        }

        // A client given the standby first follows it to the active one.
        var standbyFirst = pair.Client(1, 0);
        var submitted = await standbyFirst.SubmitAsync(new SubmitTaskRequest { Model = "m", Prompt = "hello", IdempotencyKey = "standby-1" });
        Assert.Equal(submitted.Id, (await pair.Client(0).GetTaskAsync(submitted.Id)).Id);

        // kill -9 of the active one: the standby takes over once the lease expired, within the lease + its load.
        var killed = Stopwatch.StartNew();
        await a.KillAsync();
        await pair.WaitForRoleAsync(1, "active");
        log.WriteLine($"standby serving {killed.Elapsed.TotalSeconds:0.00} s after the kill (lease {LeaseSeconds} s)");
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(LeaseSeconds * 3 + 30), $"took {killed.Elapsed}");

        // A client whose first URL is dead (connection refused) goes on to the next.
        var deadFirst = pair.Client(0, 1);
        Assert.NotNull(await deadFirst.GetStatsAsync());

        // The killed one, started again, is a standby naming the new active one.
        pair.Start(0);
        await pair.WaitForRoleAsync(0, "standby");
        Assert.Equal(pair.PublicUrl(1), await pair.ActiveNamedByAsync(0));

        // Deposed while active (its lease taken over): it stops with exit code 3 and serves no more.
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var steal = new NpgsqlCommand(
                "UPDATE d8_leader SET term = term + 1, holder = 'someone-else', url = 'http://elsewhere:1', expires_at = now() + interval '1 hour'", connection);
            Assert.Equal(1, await steal.ExecuteNonQueryAsync());
        }
        Assert.Equal(3, await b.WaitForExitAsync(Timeout));
        Assert.Contains("Deposed", b.Output);
    }
}
