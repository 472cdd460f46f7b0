using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace D8.Tests.AppHost;

/// <summary>
/// Every worker resource has its own endpoint even with the ports a developer's `dotnet run` uses (launch-profile ports,
/// not the testing builder's randomised ones), so the dashboard's health of each worker is that worker's own.
/// Runs its own app in the AppHost collection, so it never runs beside the shared one.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostWorkerEndpointTests
{
    [Fact]
    public async Task Worker_whose_key_is_rejected_shows_Unhealthy_while_the_others_are_Healthy()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        using var data = new AppHostTestData();
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-emu" }, cts.Token);
        await using var gemini = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "gemini-emu", ApiKey = "the-real-key" }, cts.Token);

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
        [
            "--DcpPublisher:RandomizePorts=false", "--Ollama:Mode=none", "--Workers:Enabled=groq,gemini",
            "--Parameters:join-token=endpoint-join-token-0123456789", $"--Parameters:api-key={AppHostFixture.ApiKey}",
            "--Parameters:groq-api-key=k1", "--Parameters:gemini-api-key=a-rejected-key",
            $"--Workers:groq:BaseUrl={groq.V1Endpoint}", $"--Workers:gemini:BaseUrl={gemini.V1Endpoint}",
            data.Argument,
        ], cts.Token);
        // The orchestrator's launch-profile port (5080) may be taken by a developer's own run on this machine: without
        // a port, DCP picks a free one when it binds; the workers keep exactly what the AppHost gives them.
        var orchestrator = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "orchestrator");
        builder.CreateResourceBuilder(orchestrator).WithEndpoint("http", e => e.Port = null);
        await using var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("worker-groq", cts.Token);
        var geminiState = await app.ResourceNotifications.WaitForResourceAsync("worker-gemini",
            e => e.Snapshot.State?.Text == KnownResourceStates.Running && e.Snapshot.HealthStatus == HealthStatus.Unhealthy
                 && e.Snapshot.HealthReports.Length > 0, cts.Token);
        Assert.Equal(HealthStatus.Unhealthy, geminiState.Snapshot.HealthStatus);
        Assert.True(app.ResourceNotifications.TryGetCurrentState("worker-groq", out var groqState));
        Assert.Equal(HealthStatus.Healthy, groqState!.Snapshot.HealthStatus);

        var groqUrl = app.GetEndpoint("worker-groq", "http");
        var geminiUrl = app.GetEndpoint("worker-gemini", "http");
        Assert.NotEqual(groqUrl.Port, geminiUrl.Port);

        // Each URL reaches its own worker: only gemini's /health answers 503 Unhealthy.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var geminiHealth = await http.GetAsync(new Uri(geminiUrl, "/health"), cts.Token);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, geminiHealth.StatusCode);
        using var groqHealth = await http.GetAsync(new Uri(groqUrl, "/health"), cts.Token);
        Assert.True(groqHealth.IsSuccessStatusCode, await groqHealth.Content.ReadAsStringAsync(cts.Token));
    }
}
