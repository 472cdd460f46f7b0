using D8.Emulators.Ollama;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>d8 ollama list|pull, and the Ollama parts of setup and doctor, against the Ollama emulator.</summary>
public sealed class OllamaCommandTests : IAsyncLifetime
{
    private OllamaEmulator _ollama = null!;
    private readonly CliRun _cli = new();

    public async Task InitializeAsync()
    {
        _ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions
        {
            InstalledModels = ["deepseek-coder:1.3b"],
            PullableModels = ["deepseek-coder:6.7b"],
        });
        _cli.Variables["D8_OLLAMA_URL"] = _ollama.BaseUrl;
    }

    public async Task DisposeAsync()
    {
        await _ollama.DisposeAsync();
        _cli.Dispose();
    }

    [Fact]
    public async Task List_shows_the_installed_models()
    {
        var result = await _cli.RunAsync("ollama", "list");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("deepseek-coder:1.3b", result.Out);
        Assert.DoesNotContain("6.7b", result.Out);
    }

    [Fact]
    public async Task Pull_shows_progress_and_the_model_is_then_installed()
    {
        var result = await _cli.RunAsync("ollama", "pull", "deepseek-coder:6.7b");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("pulled deepseek-coder:6.7b", result.Out);
        Assert.Contains("100%", result.Out);
        Assert.Contains("deepseek-coder:6.7b", _ollama.InstalledModels);
    }

    [Fact]
    public async Task Pull_of_a_model_the_registry_does_not_have_fails_in_one_line()
    {
        var result = await _cli.RunAsync("ollama", "pull", "no-such-model:1b");

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.Err.Trim().Split('\n'));
        Assert.StartsWith("d8: ", result.Err);
        Assert.DoesNotContain(_ollama.InstalledModels, m => m.StartsWith("no-such-model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task List_against_a_stopped_ollama_is_one_line_and_exit_1()
    {
        using var stopped = FreePort.Hold();
        var result = await _cli.RunAsync("ollama", "list", "--ollama-url", stopped.Url);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("d8: cannot connect", result.Err);
    }
}

/// <summary>The ollama check of d8 doctor, and setup for an Ollama worker, with the Ollama emulator.</summary>
public sealed class OllamaDoctorAndSetupTests : IAsyncLifetime
{
    private DoctorHost _host = null!;
    private OllamaEmulator _ollama = null!;

    public async Task InitializeAsync()
    {
        _host = await DoctorHost.StartAsync();
        _ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions { InstalledModels = ["deepseek-coder:1.3b"] });
        _host.Cli.Variables["D8_OLLAMA_URL"] = _ollama.BaseUrl;
        _host.Env["D8_PROVIDER"] = "ollama";
        _host.Env["D8_DEEPSEEK_MODEL"] = "deepseek-coder:1.3b";
        _host.Env.Remove("GROQ_API_KEY");
    }

    public async Task DisposeAsync()
    {
        await _ollama.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Every_check_passes_or_skips_on_a_healthy_ollama_worker_host()
    {
        var (code, checks, raw) = await _host.DoctorAsync();

        Assert.True(code == 0, raw.ToString());
        Assert.Equal("pass", checks["ollama"].Status);
        Assert.Equal("skip", checks["provider-key"].Status);
        Assert.All(checks.Where(c => c.Key != "provider-key"), c => Assert.True(c.Value.Status == "pass", $"{c.Key}: {c.Value.Message}"));
    }

    [Fact]
    public async Task Ollama_check_fails_when_the_model_is_missing_and_the_worker_may_not_pull()
    {
        _host.Env["D8_DEEPSEEK_MODEL"] = "deepseek-coder:6.7b";
        _host.Env["D8_PULL_MODEL"] = "false";

        var (code, checks, _) = await _host.DoctorAsync("--only", "ollama");

        Assert.Equal(1, code);
        Assert.Equal("fail", checks["ollama"].Status);
        Assert.Contains("does not have deepseek-coder:6.7b", checks["ollama"].Message);
        Assert.Contains("d8 ollama pull deepseek-coder:6.7b", checks["ollama"].Fix);
    }

    [Fact]
    public async Task Ollama_check_only_warns_about_a_missing_model_the_worker_will_pull()
    {
        _host.Env["D8_DEEPSEEK_MODEL"] = "deepseek-coder:6.7b";

        var (code, checks, _) = await _host.DoctorAsync("--only", "ollama");

        Assert.Equal(0, code);
        Assert.Equal("warn", checks["ollama"].Status);
    }

    [Fact]
    public async Task Ollama_check_fails_when_ollama_does_not_answer()
    {
        using var silent = FreePort.Hold();
        _host.Cli.Variables["D8_OLLAMA_URL"] = silent.Url;

        var (_, checks, _) = await _host.DoctorAsync("--only", "ollama");

        Assert.Equal("fail", checks["ollama"].Status);
        Assert.Contains("cannot reach Ollama", checks["ollama"].Message);
    }

    [Fact]
    public async Task Setup_with_an_explicit_ollama_url_checks_it_and_reports_the_model_present()
    {
        var result = await _host.Cli.RunAsync("setup", "worker", "-y", "--provider", "ollama", "--model", "deepseek-coder:1.3b",
            "--orchestrator-url", _host.Orchestrator.BaseUrl.AbsoluteUri, "--join-token", _host.Orchestrator.JoinToken,
            "--ollama-url", _ollama.BaseUrl, "--env-file", "worker.env");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("[pass] model deepseek-coder:1.3b is present", result.Out);
        Assert.Contains("--env-file worker.env --profile worker-deepseek up -d", result.Out);
        Assert.Equal("deepseek-coder:1.3b", D8.Cli.Setup.EnvFile.Load(_host.Cli.PathOf("worker.env")).Get("D8_DEEPSEEK_MODEL"));
    }

    [Fact]
    public async Task Setup_refuses_an_explicit_ollama_url_that_does_not_answer()
    {
        using var silent = FreePort.Hold();
        var result = await _host.Cli.RunAsync("setup", "worker", "-y", "--provider", "ollama",
            "--orchestrator-url", _host.Orchestrator.BaseUrl.AbsoluteUri, "--join-token", _host.Orchestrator.JoinToken,
            "--ollama-url", silent.Url);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot reach Ollama", result.Out);
        Assert.False(File.Exists(_host.Cli.PathOf(".env")));
    }
}
