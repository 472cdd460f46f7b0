using D8.Contracts;
using D8.Tests.Docker.Infrastructure;

namespace D8.Tests.Docker.Deployment;

/// <summary>Each compose profile of the committed file comes up healthy through its own health checks and serves tasks.</summary>
[Collection("docker")]
public sealed class ProfileTests(TestImages images)
{
    [Fact]
    public async Task Orchestrator_profile_comes_up_healthy_and_serves_the_published_port()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create();
        await project.UpAsync("orchestrator");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator");

        // No container reaches anything outside the compose network: the override makes it internal.
        var network = await Shell.RunAsync("docker", ["network", "inspect", "-f", "{{.Internal}}", project.Name + "_default"], TimeSpan.FromSeconds(30), ct: TestContext.Current.CancellationToken);
        Assert.Equal("true", network.Output.Trim());

        // What docs/deploy.md tells an operator to run: the token it prints is the one the workers are given, pinned
        // to the certificate the published port serves (the test's client, which checks that pin, gets an answer).
        var printed = await project.ComposeAsync(["orchestrator"], "exec", "-T", "orchestrator", "/app/D8.Orchestrator", "join-token");
        var token = Assert.Single(printed.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            l => l.StartsWith(D8.Contracts.Trust.JoinToken.Prefix, StringComparison.Ordinal));
        Assert.Equal(project.JoinToken, token);
        Assert.True(D8.Contracts.Trust.JoinToken.TryParse(token, out var parsed, out var error), error);
        Assert.True(parsed.IsPinned);
        var health = await project.Client.GetHealthAsync(TestContext.Current.CancellationToken);
        Assert.NotNull(health);
        Assert.Empty(await project.Client.GetWorkersAsync(TestContext.Current.CancellationToken));

        // Hardened as the file says, and still healthy: non-root, read-only root, no capabilities, no privilege gain.
        var id = await project.ContainerAsync("orchestrator");
        var inspect = await Shell.RunAsync("docker", ["inspect", "-f",
            "{{.Config.User}}|{{.HostConfig.ReadonlyRootfs}}|{{.HostConfig.CapDrop}}|{{.HostConfig.SecurityOpt}}|{{.State.Pid}}", id],
            TimeSpan.FromSeconds(30), ct: TestContext.Current.CancellationToken);
        var fields = inspect.Output.Trim().Split('|');
        Assert.Equal(["1654:1654", "true", "[ALL]", "[no-new-privileges:true]"], fields[..4]);
        var status = await File.ReadAllTextAsync($"/proc/{fields[4]}/status", TestContext.Current.CancellationToken);
        Assert.Contains("CapEff:\t0000000000000000", status, StringComparison.Ordinal);
        Assert.Contains("Uid:\t1654", status, StringComparison.Ordinal);

        // The published port speaks TLS only: a plain-HTTP request gets no answer.
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync($"http://127.0.0.1:{project.OrchestratorPort}/health", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Groq_worker_completes_tasks_submitted_on_the_published_port()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create();
        await project.UpAsync("orchestrator", "worker-groq");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator", "groq-emulator", "worker-groq");

        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await project.SubmitAsync($"groq task {i}"));
        foreach (var id in ids)
        {
            var task = await project.WaitTerminalAsync(id, Timeouts.Task);
            Assert.Equal(TaskState.Succeeded, task.State);
            Assert.StartsWith("groq-emulator ", task.Result!.Content, StringComparison.Ordinal);
            // Default worker name: provider and the host's name (several Pis are told apart).
            Assert.Equal($"groq-{Environment.MachineName}", task.Result.WorkerName);
        }
    }

    [Fact]
    public async Task Deepseek_profile_pulls_the_model_once_and_not_again_on_the_next_up()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create();
        string[] profiles = ["orchestrator", "worker-deepseek"];
        await project.UpAsync(profiles);
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator", "ollama", "worker-deepseek");
        var task = await project.WaitTerminalAsync(await project.SubmitAsync("deepseek task", "ollama"), Timeouts.Task);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.StartsWith("ollama-emulator ", task.Result!.Content, StringComparison.Ordinal);
        Assert.Equal(1, Count(await project.LogsAsync("ollama"), "request POST /api/pull"));

        // Containers go, the models volume stays: the next up finds the model and does not download it again.
        await project.ComposeAsync(profiles.SelectMany(p => new[] { p }), "down", "-t", "60");
        await project.UpAsync(profiles);
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator", "ollama", "worker-deepseek");
        var logs = await project.LogsAsync("ollama");
        Assert.Equal(0, Count(logs, "request POST /api/pull"));
        Assert.True(Count(logs, "request POST /api/show") >= 1, logs);
    }

    [Fact]
    public async Task Full_system_comes_up_healthy_and_every_provider_completes_a_task()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create();
        await project.UpAsync("full-system");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator", "ollama", "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai");

        foreach (var provider in new[] { "ollama", "groq", "gemini", "openai" })
        {
            var task = await project.WaitTerminalAsync(await project.SubmitAsync($"{provider} task", provider), Timeouts.Task);
            Assert.Equal(TaskState.Succeeded, task.State);
            Assert.Equal(provider, task.Result!.Provider);
            Assert.Equal($"{provider}-{Environment.MachineName}", task.Result.WorkerName);
        }
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
