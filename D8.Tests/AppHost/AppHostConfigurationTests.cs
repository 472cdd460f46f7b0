using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using D8.AppHost.Ollama;
using D8.Emulators.Ollama;
using D8.Tests.Infrastructure;

namespace D8.Tests.AppHost;

/// <summary>
/// How configuration shapes the model. Bad configuration is run as a newcomer would (the AppHost as a process): it must
/// exit 1 with a line saying what to do, no stack trace, before anything is started.
/// </summary>
public sealed class AppHostConfigurationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>A container runtime that cannot answer, so no test depends on whether Docker runs on the machine.</summary>
    private const string NoRuntime = "--Ollama:ContainerRuntime=/nonexistent/d8-test-docker";

    /// <summary>An Ollama URL nothing answers on.</summary>
    private const string NoOllama = "--Ollama:Url=http://127.0.0.1:1";

    [Fact]
    public async Task Unknown_worker_exits_1_naming_the_worker_without_a_stack_trace()
    {
        var output = await RunExpectingSetupErrorAsync("--Workers:Enabled=groq,bogus", "--Parameters:groq-api-key=k", "--Ollama:Mode=none");
        Assert.Contains("unknown worker 'bogus'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enabled_cloud_worker_without_key_exits_1_saying_how_to_set_it()
    {
        var output = await RunExpectingSetupErrorAsync("--Workers:Enabled=gemini", "--Ollama:Mode=none");
        Assert.Contains("'gemini-api-key' has no value", output, StringComparison.Ordinal);
        Assert.Contains("dotnet user-secrets set Parameters:gemini-api-key", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_ollama_mode_exits_1()
    {
        var output = await RunExpectingSetupErrorAsync("--Ollama:Mode=docker");
        Assert.Contains("Ollama:Mode 'docker' is not valid", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Container_mode_without_a_runtime_exits_1_saying_start_Docker_or_change_the_mode()
    {
        var output = await RunExpectingSetupErrorAsync("--Ollama:Mode=container", NoRuntime);
        Assert.Contains("no container runtime answers", output, StringComparison.Ordinal);
        Assert.Contains("Start Docker", output, StringComparison.Ordinal);
        Assert.Contains("--Ollama:Mode=none", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_mode_without_runtime_or_Ollama_models_no_deepseek_and_says_why_in_the_dashboard()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var data = new AppHostTestData();
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            [NoRuntime, NoOllama, "--Parameters:groq-api-key=k", data.Argument], cts.Token);
        var names = builder.Resources.Select(r => r.Name).ToHashSet();
        Assert.DoesNotContain("worker-deepseek", names);
        Assert.DoesNotContain("deepseek", names);
        Assert.Contains("worker-groq", names);
        Assert.Empty(builder.Resources.OfType<ContainerResource>());
        var placeholder = Assert.IsType<OllamaNotUsedResource>(builder.Resources.Single(r => r.Name == "ollama"));
        var state = placeholder.Annotations.OfType<ResourceSnapshotAnnotation>().Single().InitialSnapshot;
        Assert.StartsWith("Not used", state.State!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_mode_without_runtime_uses_an_Ollama_that_answers()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var data = new AppHostTestData();
        await using var ollama = await OllamaEmulator.StartAsync(cancellationToken: cts.Token);
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            [NoRuntime, $"--Ollama:Url={ollama.BaseUrl}", "--Ollama:Mode=auto", data.Argument], cts.Token);
        var server = Assert.IsType<ExternalOllamaResource>(builder.Resources.Single(r => r.Name == "ollama"));
        Assert.Equal(new Uri(ollama.BaseUrl).Authority, server.Url.Authority);
        Assert.Contains("worker-deepseek", builder.Resources.Select(r => r.Name));
    }

    [Fact]
    public async Task Missing_cloud_key_only_skips_that_worker_by_default()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var data = new AppHostTestData();
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            ["--Ollama:Mode=external", NoOllama, "--Parameters:groq-api-key=k", data.Argument], cts.Token);
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
        using var data = new AppHostTestData();
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            ["--Ollama:Mode=none", "--Parameters:groq-api-key=k", "--Parameters:gemini-api-key=k", data.Argument], cts.Token);
        var names = builder.Resources.Select(r => r.Name).ToHashSet();
        Assert.Contains("worker-groq", names);
        Assert.Contains("worker-gemini", names);
        Assert.DoesNotContain("worker-deepseek", names);
        Assert.DoesNotContain("ollama", names);
        Assert.Empty(builder.Resources.OfType<ContainerResource>());
    }

    private static async Task<string> RunExpectingSetupErrorAsync(params string[] args)
    {
        await using var process = ProcessHost.Start("D8.AppHost", new Dictionary<string, string?>(), args);
        var exit = await process.WaitForExitAsync(Timeout);
        var output = process.Output;
        Assert.True(exit == 1, $"exit {exit}: {output}");
        Assert.Contains("D8.AppHost cannot start:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\s+at ", output);
        Assert.True(output.Trim().Split('\n').Length <= 3, "at most three lines: " + output);
        return output;
    }
}
