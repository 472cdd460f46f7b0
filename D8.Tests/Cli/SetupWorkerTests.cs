using D8.Cli.Setup;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>d8 setup worker, scripted with flags, against a real orchestrator.</summary>
public sealed class SetupWorkerTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;
    private readonly CliRun _cli = new();
    private readonly FakeSystem _system = new();
    private readonly HeldPort _noOllama = FreePort.Hold();

    public async Task InitializeAsync()
    {
        _orch = await InProcessOrchestrator.StartAsync();
        _cli.System = _system;
        // No Ollama listens here unless a test starts one.
        _cli.Variables["D8_OLLAMA_URL"] = _noOllama.Url;
    }

    public async Task DisposeAsync()
    {
        await _orch.DisposeAsync();
        _cli.Dispose();
        _noOllama.Dispose();
    }

    private IReadOnlyDictionary<string, string> EnvFileValues() => EnvFile.Load(_cli.PathOf(".env")).Values;

    [Theory]
    [InlineData(4L << 30, "deepseek-coder:1.3b", "2500m")]
    [InlineData(8L << 30, "deepseek-coder:6.7b", "6g")]
    public async Task Ollama_setup_writes_the_env_with_model_and_limits_suggested_by_ram(long ram, string expected, string ollamaMemory)
    {
        _system.MemoryInfo = new(ram, ram / 2);

        var result = await _cli.RunAsync("setup", "worker", "--non-interactive", "--provider", "deepseek",
            "--orchestrator-url", _orch.BaseUrl.AbsoluteUri, "--join-token", _orch.JoinToken);

        Assert.True(result.ExitCode == 0, result.ToString());
        var env = EnvFileValues();
        Assert.Equal("ollama", env["D8_PROVIDER"]);
        Assert.Equal(expected, env["D8_DEEPSEEK_MODEL"]);
        Assert.Equal(ollamaMemory, env["OLLAMA_MEMORY"]);
        Assert.Equal(_orch.JoinToken, env["D8_JOIN_TOKEN"]);
        Assert.Equal(_orch.BaseUrl.AbsoluteUri.TrimEnd('/'), env["D8_ORCHESTRATOR_URL"]);
        Assert.Contains("docker compose -f docker-compose.generated.yml --env-file .env --profile worker-deepseek up -d", result.Out);
        Assert.DoesNotContain(_orch.JoinToken, result.Out + result.Err);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_cli.PathOf(".env")));
        }
        // Checking the join token registered no worker.
        Assert.Empty(await _orch.CreateClient().GetWorkersAsync());
    }

    [Fact]
    public async Task Setup_keeps_unrelated_lines_of_an_existing_env()
    {
        File.WriteAllText(_cli.PathOf(".env"), "# my notes\nD8_API_KEYS=keep-me\nD8_DEEPSEEK_MODEL=old-model\n");

        var result = await _cli.RunAsync("setup", "worker", "-y", "--provider", "ollama", "--model", "deepseek-coder:1.3b",
            "--orchestrator-url", _orch.BaseUrl.AbsoluteUri, "--join-token", _orch.JoinToken);

        Assert.True(result.ExitCode == 0, result.ToString());
        var text = File.ReadAllText(_cli.PathOf(".env"));
        Assert.Contains("# my notes", text);
        Assert.Contains("D8_API_KEYS=keep-me", text);
        Assert.Equal("deepseek-coder:1.3b", EnvFileValues()["D8_DEEPSEEK_MODEL"]);
    }

    [Fact]
    public async Task Setup_refuses_an_unreachable_orchestrator_and_writes_nothing()
    {
        using var noOrchestrator = FreePort.Hold();
        var result = await _cli.RunAsync("setup", "worker", "-y", "--provider", "ollama",
            "--orchestrator-url", noOrchestrator.Url, "--join-token", _orch.JoinToken);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot reach the orchestrator", result.Err);
        Assert.False(File.Exists(_cli.PathOf(".env")));
    }

    [Fact]
    public async Task Setup_refuses_a_join_token_the_orchestrator_rejects()
    {
        var result = await _cli.RunAsync("setup", "worker", "-y", "--provider", "ollama",
            "--orchestrator-url", _orch.BaseUrl.AbsoluteUri, "--join-token", "guess");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("rejected the join token", result.Err);
        Assert.False(File.Exists(_cli.PathOf(".env")));
    }

    [Fact]
    public async Task Non_interactive_setup_names_the_missing_flag()
    {
        var result = await _cli.RunAsync("setup", "worker", "--non-interactive", "--provider", "groq");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--orchestrator-url is required", result.Err);
    }

    [Fact]
    public async Task Unknown_provider_is_refused_with_the_valid_names()
    {
        var result = await _cli.RunAsync("setup", "worker", "-y", "--provider", "claude");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ollama (deepseek), groq, gemini, openai", result.Err);
    }
}
