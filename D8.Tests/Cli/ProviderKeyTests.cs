using D8.Cli.Setup;
using D8.Emulators.OpenAi;

namespace D8.Tests.Cli;

/// <summary>Provider keys are checked for real by setup and doctor, against the OpenAI-compatible emulator.</summary>
[Trait("Category", "Unit")]
public sealed class ProviderKeyTests : IAsyncLifetime
{
    private const string GoodKey = "gsk_emulated_good_key";
    private DoctorHost _host = null!;
    private OpenAiEmulator _groq = null!;

    public async Task InitializeAsync()
    {
        _host = await DoctorHost.StartAsync();
        _groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { ApiKey = GoodKey, Models = ["llama-3.1-8b-instant"] });
        _host.Env["GROQ_API_KEY"] = GoodKey;
        _host.Env["D8_PROVIDER_BASE_URL"] = _groq.V1Endpoint.AbsoluteUri;
    }

    public async Task DisposeAsync()
    {
        await _groq.DisposeAsync();
        await _host.DisposeAsync();
    }

    private Task<CliResult> SetupGroqAsync(params string[] extra) => _host.Cli.RunAsync(
    [
        "setup", "worker", "--non-interactive", "--provider", "groq",
        "--orchestrator-url", _host.Orchestrator.BaseUrl.AbsoluteUri, "--join-token", _host.Orchestrator.JoinToken,
        "--base-url", _groq.V1Endpoint.AbsoluteUri, .. extra,
    ]);

    [Fact]
    public async Task Setup_writes_a_complete_groq_env_when_the_provider_accepts_the_key()
    {
        var result = await SetupGroqAsync("--api-key", GoodKey);

        Assert.True(result.ExitCode == 0, result.ToString());
        var env = EnvFile.Load(_host.Cli.PathOf(".env")).Values;
        Assert.Equal("groq", env["D8_PROVIDER"]);
        Assert.Equal(GoodKey, env["GROQ_API_KEY"]);
        Assert.Equal(_groq.V1Endpoint.AbsoluteUri, env["GROQ_BASE_URL"]);
        Assert.Contains("[pass] groq accepted the key and serves llama-3.1-8b-instant", result.Out);
        Assert.Contains("--profile worker-groq up -d", result.Out);
        Assert.DoesNotContain(GoodKey, result.Out + result.Err);
        // The key was checked with one real chat completion of one token.
        var call = await _groq.WaitForRequestAsync("/chat/completions", TimeSpan.FromSeconds(10));
        Assert.Contains("\"max_completion_tokens\":1", call.Body);
    }

    [Fact]
    public async Task Setup_takes_the_key_from_the_providers_usual_environment_variable()
    {
        _host.Cli.Variables["GROQ_API_KEY"] = GoodKey;

        var result = await SetupGroqAsync();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(GoodKey, EnvFile.Load(_host.Cli.PathOf(".env")).Get("GROQ_API_KEY"));
    }

    [Fact]
    public async Task Setup_refuses_a_key_the_provider_rejects_and_writes_nothing()
    {
        var result = await SetupGroqAsync("--api-key", "gsk_wrong");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("groq rejected the API key (401)", result.Out + result.Err);
        Assert.Contains("console.groq.com/keys", result.Out);
        Assert.DoesNotContain("gsk_wrong", result.Out + result.Err);
        Assert.False(File.Exists(_host.Cli.PathOf(".env")));
    }

    [Fact]
    public async Task Setup_refuses_a_model_the_provider_does_not_serve()
    {
        var result = await SetupGroqAsync("--api-key", GoodKey, "--model", "llama-9-imaginary");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("llama-9-imaginary", result.Err);
        Assert.False(File.Exists(_host.Cli.PathOf(".env")));
    }

    [Fact]
    public async Task Every_doctor_check_passes_or_skips_on_a_healthy_groq_worker_host()
    {
        var (code, checks, raw) = await _host.DoctorAsync();

        Assert.True(code == 0, raw.ToString());
        Assert.Equal("pass", checks["provider-key"].Status);
        Assert.Equal("skip", checks["ollama"].Status);
        Assert.Equal(14, checks.Count);
    }

    [Fact]
    public async Task Provider_key_check_fails_when_the_provider_rejects_the_key()
    {
        _host.Env["GROQ_API_KEY"] = "gsk_revoked";

        var (code, checks, _) = await _host.DoctorAsync("--only", "provider-key");

        Assert.Equal(1, code);
        Assert.Equal("fail", checks["provider-key"].Status);
        Assert.Contains("rejected the API key", checks["provider-key"].Message);
    }
}
