using System.Runtime.InteropServices;
using D8.Cli.Doctor.Probes;
using Microsoft.Extensions.Time.Testing;

namespace D8.Tests.Cli;

/// <summary>Each doctor check passes on a healthy host and fails, for the right reason, when its one thing is broken.</summary>
public sealed class DoctorCommandTests : IAsyncLifetime
{
    private DoctorHost _host = null!;

    // Checks that need no provider emulator; the ollama and provider-key checks are tested with the emulators.
    private static readonly string[] HostChecks =
        ["--only", "docker", "compose", "cpu", "memory", "disk", ".env", "compose-file", "orchestrator", "join-token", "api-key", "clock"];

    public async Task InitializeAsync() => _host = await DoctorHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static void AssertFailed((string Status, string Message, string? Fix) check, string because)
    {
        Assert.True(check.Status == "fail", $"expected fail, got {check.Status}: {check.Message}");
        Assert.Contains(because, check.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(string.IsNullOrWhiteSpace(check.Fix));
    }

    [Fact]
    public async Task A_healthy_host_passes_every_check_and_exits_0()
    {
        var (code, checks, raw) = await _host.DoctorAsync(HostChecks);

        Assert.True(code == 0, raw.ToString());
        Assert.All(checks, c => Assert.True(c.Value.Status == "pass", $"{c.Key}: {c.Value.Status} {c.Value.Message}"));
        Assert.Equal(11, checks.Count);
    }

    [Fact]
    public async Task Human_output_has_one_line_per_check_and_a_summary()
    {
        _host.System.DockerInfo = new CommandResult(-1, "", "", NotFound: true);
        _host.WriteEnv();

        var result = await _host.Cli.RunAsync(["doctor", .. HostChecks]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("[fail] docker: docker is not installed", result.Out);
        Assert.Contains("fix: sudo apt-get install docker.io docker-compose", result.Out);
        Assert.Contains("[pass] orchestrator:", result.Out);
        Assert.Contains("failed", result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    [Fact]
    public async Task Docker_check_fails_when_docker_is_not_installed()
    {
        _host.System.DockerInfo = new CommandResult(-1, "", "docker not found", NotFound: true);
        var (code, checks, _) = await _host.DoctorAsync("--only", "docker");
        Assert.Equal(1, code);
        AssertFailed(checks["docker"], "not installed");
    }

    [Fact]
    public async Task Docker_check_fails_when_the_daemon_is_not_running()
    {
        _host.System.DockerInfo = new CommandResult(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?");
        var (_, checks, _) = await _host.DoctorAsync("--only", "docker");
        AssertFailed(checks["docker"], "daemon is not running");
        Assert.Contains("systemctl", checks["docker"].Fix);
    }

    [Fact]
    public async Task Compose_check_fails_when_the_plugin_is_missing()
    {
        _host.System.ComposeVersion = new CommandResult(1, "", "docker: 'compose' is not a docker command.");
        var (_, checks, _) = await _host.DoctorAsync("--only", "compose");
        AssertFailed(checks["compose"], "plugin is missing");
        Assert.Contains("apt-get install docker-compose ", checks["compose"].Fix);
        Assert.DoesNotContain("docker-compose-plugin", checks["compose"].Fix);
    }

    [Fact]
    public async Task Compose_check_accepts_debians_docker_compose_1_29()
    {
        _host.System.ComposeVersion = new CommandResult(1, "", "docker: 'compose' is not a docker command.");
        _host.System.StandaloneCompose = new CommandResult(0, "1.29.2", "");
        var (_, checks, _) = await _host.DoctorAsync("--only", "compose");
        Assert.Equal("pass", checks["compose"].Status);
        Assert.Contains("1.29.2", checks["compose"].Message);
    }

    [Theory]
    [InlineData("armv7l|true", "32-bit")]
    [InlineData("aarch64|false", "memory cgroup")]
    public async Task Docker_platform_check_fails_on_32_bit_docker_or_without_the_memory_cgroup(string info, string expected)
    {
        _host.System.DockerPlatform = new CommandResult(0, info, "");
        var (_, checks, _) = await _host.DoctorAsync("--only", "docker-platform");
        AssertFailed(checks["docker-platform"], expected);
    }

    [Fact]
    public async Task Docker_platform_check_passes_on_arm64_with_the_memory_cgroup()
    {
        var (_, checks, _) = await _host.DoctorAsync("--only", "docker-platform");
        Assert.Equal("pass", checks["docker-platform"].Status);
    }

    [Fact]
    public async Task Cpu_check_fails_on_32_bit_arm()
    {
        _host.System.Architecture = Architecture.Arm;
        var (_, checks, _) = await _host.DoctorAsync("--only", "cpu");
        AssertFailed(checks["cpu"], "32-bit ARM");
    }

    [Fact]
    public async Task Memory_check_fails_when_a_4_gb_machine_is_set_to_the_6_7b_model_and_suggests_1_3b()
    {
        // A 4 GB Pi's /proc/meminfo, read by the real reader.
        var meminfo = _host.Cli.PathOf("meminfo");
        File.WriteAllText(meminfo, "MemTotal:        3884476 kB\nMemFree:          250000 kB\nMemAvailable:    3000000 kB\n");
        _host.Cli.System = new RealSystemProbe { Commands = _host.System, Disk = _host.System, Memory = new ProcMemInfoReader(meminfo) };
        _host.Env["D8_PROVIDER"] = "ollama";
        _host.Env["D8_DEEPSEEK_MODEL"] = "deepseek-coder:6.7b";

        var (_, checks, _) = await _host.DoctorAsync("--only", "memory");

        AssertFailed(checks["memory"], "not enough for deepseek-coder:6.7b");
        Assert.Contains("deepseek-coder:1.3b", checks["memory"].Fix);
    }

    [Fact]
    public async Task Disk_check_fails_when_free_space_is_below_images_plus_model()
    {
        _host.System.FreeDisk = 1L << 30;
        _host.Env["D8_PROVIDER"] = "ollama";
        _host.Env["D8_DEEPSEEK_MODEL"] = "deepseek-coder:6.7b";
        var (_, checks, _) = await _host.DoctorAsync("--only", "disk");
        AssertFailed(checks["disk"], "1.0 GB free");
        Assert.Contains("deepseek-coder:6.7b", checks["disk"].Message);
    }

    [Fact]
    public async Task Env_check_fails_when_the_file_is_missing()
    {
        var result = await _host.Cli.RunAsync("doctor", "--json", "--only", ".env", "--env-file", "nowhere.env");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("nowhere.env does not exist", result.Out);
    }

    [Fact]
    public async Task Env_check_fails_naming_the_missing_values()
    {
        _host.Env.Remove("D8_JOIN_TOKEN");
        _host.Env.Remove("GROQ_API_KEY");
        var (_, checks, _) = await _host.DoctorAsync("--only", ".env");
        AssertFailed(checks[".env"], "lacks D8_JOIN_TOKEN, GROQ_API_KEY");
    }

    [Fact]
    public async Task Env_check_fails_on_placeholder_values()
    {
        _host.Env["GROQ_API_KEY"] = "your_groq_api_key_here";
        var (_, checks, _) = await _host.DoctorAsync("--only", ".env");
        AssertFailed(checks[".env"], "GROQ_API_KEY still hold placeholder");
    }

    [Fact]
    public async Task Compose_file_check_fails_for_a_profile_the_file_does_not_define()
    {
        var (_, checks, _) = await _host.DoctorAsync("--only", "compose-file", "--profile", "worker-claude");
        AssertFailed(checks["compose-file"], "profile worker-claude has no services");
    }

    [Fact]
    public async Task Compose_file_check_fails_when_a_variable_the_profile_uses_is_unset()
    {
        // OTEL_EXPORTER_OTLP_ENDPOINT has a default in the file, GROQ_API_KEY does not.
        _host.Env.Remove("GROQ_API_KEY");
        var (_, checks, _) = await _host.DoctorAsync("--only", "compose-file");
        AssertFailed(checks["compose-file"], "uses GROQ_API_KEY, not set");
        Assert.DoesNotContain("OTEL", checks["compose-file"].Message);
    }

    [Fact]
    public async Task Compose_file_check_fails_when_a_dependency_is_outside_the_profile()
    {
        // The Python project's bug: workers depended on a service their profile did not start.
        File.WriteAllText(_host.Cli.PathOf("docker-compose.generated.yml"), DoctorHost.ComposeYaml.Replace(
            "profiles: [worker-groq, full-system]", "profiles: [worker-groq, full-system]\n    depends_on: [orchestrator]", StringComparison.Ordinal));
        var (_, checks, _) = await _host.DoctorAsync("--only", "compose-file");
        AssertFailed(checks["compose-file"], "depends on orchestrator, which profile worker-groq does not start");
    }

    [Fact]
    public async Task Compose_file_check_fails_on_invalid_yaml()
    {
        File.WriteAllText(_host.Cli.PathOf("docker-compose.generated.yml"), "services:\n  a: [unclosed\n");
        var (_, checks, _) = await _host.DoctorAsync("--only", "compose-file");
        AssertFailed(checks["compose-file"], "not valid YAML");
    }

    [Fact]
    public async Task Orchestrator_check_fails_when_nothing_listens_at_the_url()
    {
        using var nothing = Infrastructure.FreePort.Hold();
        _host.Env["D8_ORCHESTRATOR_URL"] = nothing.Url;
        var (code, checks, _) = await _host.DoctorAsync("--only", "orchestrator", "join-token", "clock");
        Assert.Equal(1, code);
        AssertFailed(checks["orchestrator"], "cannot reach the orchestrator");
        Assert.Equal("skip", checks["join-token"].Status);
        Assert.Equal("skip", checks["clock"].Status);
    }

    [Fact]
    public async Task Join_token_check_fails_when_the_orchestrator_rejects_the_token()
    {
        _host.Env["D8_JOIN_TOKEN"] = "not-the-token";
        var (_, checks, _) = await _host.DoctorAsync("--only", "join-token");
        AssertFailed(checks["join-token"], "rejected the join token");
        // The check registers nothing.
        Assert.Empty(await _host.Orchestrator.CreateClient().GetWorkersAsync());
    }

    [Fact]
    public async Task Api_key_check_fails_when_the_orchestrator_rejects_the_key()
    {
        _host.Cli.Variables["D8_API_KEY"] = "wrong";
        var (_, checks, _) = await _host.DoctorAsync("--only", "api-key");
        AssertFailed(checks["api-key"], "rejected the API key");
    }

    [Fact]
    public async Task Clock_check_fails_when_this_host_is_ten_minutes_ahead()
    {
        _host.Cli.Time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(10));
        var (_, checks, _) = await _host.DoctorAsync("--only", "clock");
        AssertFailed(checks["clock"], "ahead of the orchestrator");
        Assert.Contains("timedatectl", checks["clock"].Fix);
    }

    [Fact]
    public void Meminfo_parser_reads_total_and_available_in_bytes()
    {
        var info = ProcMemInfoReader.Parse("MemTotal:        7995136 kB\nMemFree:  1 kB\nMemAvailable:    6000000 kB\n");
        Assert.Equal(7995136L * 1024, info.TotalBytes);
        Assert.Equal(6000000L * 1024, info.AvailableBytes);
    }

    [Fact]
    public async Task Process_runner_reports_a_missing_program_as_not_found()
    {
        var result = await new ProcessCommandRunner().RunAsync("d8-no-such-program-" + Guid.NewGuid().ToString("N"), [], TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(result.NotFound);
    }
}
