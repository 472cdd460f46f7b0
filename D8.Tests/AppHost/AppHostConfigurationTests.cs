using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace D8.Tests.AppHost;

/// <summary>How configuration shapes the model, and bad configuration failing fast with a clear message.</summary>
public sealed class AppHostConfigurationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Unknown_worker_fails_fast_naming_the_worker()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(["--Workers:Enabled=groq,bogus", "--Parameters:groq-api-key=k"], cts.Token));
        Assert.Contains("unknown worker 'bogus'", ex.ToString(), StringComparison.Ordinal);
        Assert.False(cts.IsCancellationRequested);
    }

    [Fact]
    public async Task Enabled_cloud_worker_without_key_fails_fast_saying_how_to_set_it()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(["--Workers:Enabled=gemini", "--Ollama:Mode=none"], cts.Token));
        Assert.Contains("'gemini-api-key' has no value", ex.ToString(), StringComparison.Ordinal);
        Assert.Contains("Parameters__gemini-api-key", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_ollama_mode_fails_fast()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(["--Ollama:Mode=docker"], cts.Token));
        Assert.Contains("Ollama:Mode 'docker' is not valid", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_cloud_key_only_skips_that_worker_by_default()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            ["--Ollama:Mode=external", "--Ollama:Url=http://127.0.0.1:1", "--Parameters:groq-api-key=k"], cts.Token);
        var names = builder.Resources.Select(r => r.Name).ToHashSet();
        Assert.Contains("worker-groq", names);
        Assert.Contains("worker-deepseek", names);
        Assert.DoesNotContain("worker-gemini", names);
        Assert.DoesNotContain("gemini-api-key", names);
    }

    [Fact]
    public async Task Cloud_only_mode_models_no_Ollama_and_no_deepseek_worker()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            ["--Ollama:Mode=none", "--Parameters:groq-api-key=k", "--Parameters:gemini-api-key=k"], cts.Token);
        var names = builder.Resources.Select(r => r.Name).ToHashSet();
        Assert.Contains("worker-groq", names);
        Assert.Contains("worker-gemini", names);
        Assert.DoesNotContain("worker-deepseek", names);
        Assert.DoesNotContain("ollama", names);
        Assert.Empty(builder.Resources.OfType<ContainerResource>());
    }
}
