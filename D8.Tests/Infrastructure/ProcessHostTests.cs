namespace D8.Tests.Infrastructure;

public class ProcessHostTests
{
    [Fact]
    public async Task Orchestrator_process_answers_health_and_exits_cleanly_on_sigterm()
    {
        var db = Path.Combine(Path.GetTempPath(), $"d8-{Guid.NewGuid():N}.db");
        await using var host = ProcessHost.Start("D8.Orchestrator", new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_DB_PATH"] = db,
            ["D8_JOIN_TOKEN"] = "join-" + Guid.NewGuid().ToString("N"),
            ["D8_API_KEYS"] = "key-" + Guid.NewGuid().ToString("N"),
        });
        var url = await host.WaitForListeningAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, url.Port);
        await host.WaitForHealthyAsync(new Uri(url, "health").ToString(), TimeSpan.FromSeconds(60));
        var exit = await host.StopAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exit);
    }
}
