using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace D8.Tests.AppHost;

/// <summary>The whole system started from the AppHost, with emulated providers.</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostTests(AppHostFixture fixture)
{
    [Fact]
    public void Model_resource_pulls_the_model_from_Ollama_before_it_is_healthy()
    {
        // The fixture waited for every resource (the model included) to be healthy.
        Assert.Contains(AppHostFixture.Model, fixture.Ollama.InstalledModels);
        Assert.Contains(fixture.Ollama.Requests.Snapshot(), r => r.Path.EndsWith("/api/pull", StringComparison.Ordinal));
        Assert.Contains(fixture.Ollama.Requests.Snapshot(), r => r.Path.EndsWith("/api/show", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Orchestrator_serves_health_and_OpenAPI_and_accepts_the_generated_api_key()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var http = fixture.App.CreateHttpClient("orchestrator", "http");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/health", UriKind.Relative), cts.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative), cts.Token)).StatusCode);

        using var unauthorized = await http.GetAsync(new Uri("/api/stats", UriKind.Relative), cts.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats");
        request.Headers.Authorization = new("Bearer", AppHostFixture.ApiKey);
        using var authorized = await http.SendAsync(request, cts.Token);
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
    }

    [Fact]
    public async Task Each_worker_has_a_dashboard_row_with_its_live_figures()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var (worker, model) in new[] { ("worker-groq", "llama-3.1-8b-instant"), ("worker-deepseek", AppHostFixture.Model) })
        {
            var row = await fixture.App.ResourceNotifications.WaitForResourceAsync($"{worker}-live",
                e => e.Snapshot.Properties.Any(p => p.Name == "d8.state" && Equals(p.Value, "online")), cts.Token);
            Assert.Matches(@"^(\d+ tps|no run yet) · \d+ of \d+ busy", row.Snapshot.State!.Text);
            Assert.Contains(row.Snapshot.Properties, p => p.Name == "d8.models" && Equals(p.Value, model));
            Assert.Contains(row.Snapshot.Properties, p => p.Name == "d8.tokens_per_second");
        }
    }

    [Fact]
    public async Task Workers_get_the_provider_contract_environment()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var model = fixture.App.Services.GetRequiredService<DistributedApplicationModel>();
        var groq = Assert.IsAssignableFrom<IResourceWithEnvironment>(model.Resources.Single(r => r.Name == "worker-groq"));
        var deepseek = Assert.IsAssignableFrom<IResourceWithEnvironment>(model.Resources.Single(r => r.Name == "worker-deepseek"));
        var groqEnv = await EnvironmentAsync(groq, cts.Token);
        var deepseekEnv = await EnvironmentAsync(deepseek, cts.Token);

        Assert.Equal("groq", groqEnv["D8_PROVIDER"]);
        Assert.Equal("test-groq-key", groqEnv["D8_PROVIDER_API_KEY"]);
        Assert.Equal(fixture.Groq.V1Endpoint.ToString(), groqEnv["D8_PROVIDER_BASE_URL"]);
        Assert.StartsWith("http://", groqEnv["D8_ORCHESTRATOR_URL"], StringComparison.Ordinal);
        Assert.Equal("ollama", deepseekEnv["D8_PROVIDER"]);
        Assert.Equal($"Endpoint={fixture.Ollama.BaseUri.GetLeftPart(UriPartial.Authority)};Model={AppHostFixture.Model}", deepseekEnv["D8_OLLAMA_CONNECTION"]);
    }

    private static async Task<Dictionary<string, string?>> EnvironmentAsync(IResourceWithEnvironment resource, CancellationToken ct)
    {
        var raw = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), resource, raw, ct);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>()) await callback.Callback(context);
        var result = new Dictionary<string, string?>();
        foreach (var (key, value) in raw)
        {
            result[key] = value switch
            {
                string s => s,
                IValueProvider p => await p.GetValueAsync(ct),
                _ => value.ToString(),
            };
        }
        return result;
    }
}
