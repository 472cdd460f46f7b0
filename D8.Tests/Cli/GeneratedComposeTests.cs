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

    public async Task InitializeAsync()
    {
        _orch = await InProcessOrchestrator.StartAsync();
        _provider = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { ApiKey = "good-key" });
        File.Copy(Path.Combine(AppPaths.RepoRoot, "docker-compose.generated.yml"), _cli.PathOf("docker-compose.generated.yml"));
        _cli.Variables["D8_OLLAMA_URL"] = $"http://127.0.0.1:{FreePort.Next()}";
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _orch.DisposeAsync();
        _cli.Dispose();
    }

    [Theory]
    [InlineData("ollama", "worker-deepseek")]
    [InlineData("groq", "worker-groq")]
    [InlineData("gemini", "worker-gemini")]
    public async Task Setup_env_satisfies_the_generated_compose_profile_and_doctor_agrees(string provider, string profile)
    {
        var setup = await _cli.RunAsync("setup", "worker", "-y", "--provider", provider,
            "--orchestrator-url", _orch.BaseUrl.AbsoluteUri, "--join-token", _orch.JoinToken,
            "--api-key", "good-key", "--base-url", _provider.V1Endpoint.AbsoluteUri);

        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.Contains($"[pass] compose file: profile {profile}", setup.Out);
        Assert.Contains($"docker compose -f docker-compose.generated.yml --env-file .env --profile {profile} up -d", setup.Out);

        var doctor = await _cli.RunAsync("doctor", "--only", ".env", "compose-file", "orchestrator", "join-token");
        Assert.True(doctor.ExitCode == 0, doctor.ToString());
    }
}
