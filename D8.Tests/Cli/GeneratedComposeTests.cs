using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>
/// The .env that setup writes fits the repository's real docker-compose.generated.yml: every variable each worker
/// profile needs is set, so `docker compose --profile … up -d` starts without a missing-variable warning.
/// </summary>
public sealed class GeneratedComposeTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;
    private OpenAiEmulator _provider = null!;
    private readonly CliRun _cli = new();
    private readonly HeldPort _noOllama = FreePort.Hold();

    public async Task InitializeAsync()
    {
        _orch = await InProcessOrchestrator.StartAsync();
        _provider = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { ApiKey = "good-key" });
        File.Copy(Path.Combine(AppPaths.RepoRoot, "docker-compose.generated.yml"), _cli.PathOf("docker-compose.generated.yml"));
        _cli.Variables["D8_OLLAMA_URL"] = _noOllama.Url;
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _orch.DisposeAsync();
        _cli.Dispose();
        _noOllama.Dispose();
    }

    [Theory]
    [InlineData("ollama", "worker-deepseek", "deepseek-coder:1.3b")]
    [InlineData("groq", "worker-groq", "llama-3.1-8b-instant")]
    [InlineData("gemini", "worker-gemini", "gemini-2.5-flash")]
    [InlineData("openai", "worker-openai", "gpt-4o-mini")]
    public async Task Setup_env_satisfies_the_generated_compose_profile_and_doctor_agrees(string provider, string profile, string model)
    {
        var setup = await _cli.RunAsync("setup", "worker", "-y", "--provider", provider, "--model", model,
            "--orchestrator-url", _orch.BaseUrl.AbsoluteUri, "--join-token", _orch.JoinToken,
            "--api-key", "good-key", "--base-url", _provider.V1Endpoint.AbsoluteUri);

        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.Contains($"[pass] compose file: profile {profile}", setup.Out);
        Assert.Contains($"docker compose -f docker-compose.generated.yml --env-file .env --profile {profile} up -d", setup.Out);

        // Every variable the compose file reads for the host: image source, worker name, project name, log rotation.
        var env = File.ReadAllText(_cli.PathOf(".env"));
        foreach (var variable in new[] { "COMPOSE_PROJECT_NAME=d8", "D8_REGISTRY=", "D8_TAG=latest", "D8_WORKER_NAME=", "D8_LOG_MAX_SIZE=" })
        {
            Assert.Contains("\n" + variable, "\n" + env, StringComparison.Ordinal);
        }
        if (provider != "ollama") Assert.Contains($"{provider.ToUpperInvariant()}_WORKER_MEMORY=", env, StringComparison.Ordinal);

        var doctor = await _cli.RunAsync("doctor", "--only", ".env", "compose-file", "orchestrator", "join-token");
        Assert.True(doctor.ExitCode == 0, doctor.ToString());
    }
}
