using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>Connection settings come from flags, then environment, then the config file.</summary>
[Trait("Category", "Unit")]
public sealed class ConfigurationTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;
    private readonly CliRun _cli = new();
    private readonly HeldPort _dead = FreePort.Hold();
    private string DeadUrl => _dead.Url;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync()
    {
        await _orch.DisposeAsync();
        _cli.Dispose();
        _dead.Dispose();
    }

    private void WriteConfig(string path, string url, string key)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $$"""{ "orchestrator_url": "{{url}}", "api_key": "{{key}}" }""");
    }

    [Fact]
    public async Task Config_file_in_home_is_used_when_nothing_else_is_set()
    {
        WriteConfig(Path.Combine(_cli.HomeDirectory, ".config", "d8", "config.json"), _orch.BaseUrl.AbsoluteUri, _orch.ApiKey);

        var result = await _cli.RunAsync("tasks");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no tasks", result.Out);
    }

    [Fact]
    public async Task Environment_beats_the_config_file_and_flags_beat_the_environment()
    {
        var config = _cli.PathOf("cfg.json");
        WriteConfig(config, DeadUrl, "wrong");
        _cli.Variables["D8_CONFIG"] = config;
        _cli.Variables["D8_ORCHESTRATOR_URL"] = _orch.BaseUrl.AbsoluteUri;
        _cli.Variables["D8_API_KEY"] = _orch.ApiKey;

        var fromEnv = await _cli.RunAsync("tasks");
        var fromFlag = await _cli.RunAsync("tasks", "--url", DeadUrl);

        Assert.True(fromEnv.ExitCode == 0, fromEnv.ToString());
        Assert.Equal(1, fromFlag.ExitCode);
        Assert.Contains("cannot connect", fromFlag.Err);
    }

    [Fact]
    public async Task Several_urls_are_followed_past_one_that_refuses_connections()
    {
        // Two orchestrators sharing one database: the first is down, the second answers.
        _cli.Variables["D8_ORCHESTRATOR_URL"] = DeadUrl + "," + _orch.BaseUrl.AbsoluteUri;
        _cli.Variables["D8_API_KEY"] = _orch.ApiKey;

        var result = await _cli.RunAsync("tasks");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no tasks", result.Out);
    }

    [Fact]
    public async Task Missing_url_names_every_place_it_can_come_from()
    {
        var result = await _cli.RunAsync("status");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--url", result.Err);
        Assert.Contains("D8_ORCHESTRATOR_URL", result.Err);
        Assert.Contains("config.json", result.Err);
    }

    [Fact]
    public async Task A_broken_config_file_is_reported_with_its_path()
    {
        var config = _cli.PathOf("broken.json");
        File.WriteAllText(config, "{ not json");

        var result = await _cli.RunAsync("status", "--config", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("broken.json is not valid JSON", result.Err);
    }
}
