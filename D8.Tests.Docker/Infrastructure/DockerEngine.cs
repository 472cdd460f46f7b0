namespace D8.Tests.Docker.Infrastructure;

/// <summary>
/// Is there a Docker engine and docker-compose to test against? Without one, a test is skipped with the reason on a
/// developer machine and fails under CI (the environment variable CI is set, as `.ci/run` does).
/// </summary>
public static class DockerEngine
{
    private static readonly Lazy<Task<string?>> Problem = new(FindProblemAsync);

    /// <summary>The compose command: $D8_TEST_COMPOSE (e.g. "docker compose"), else docker-compose.</summary>
    public static IReadOnlyList<string> ComposeCommand { get; } =
        (Environment.GetEnvironmentVariable("D8_TEST_COMPOSE") is { Length: > 0 } c ? c : "docker-compose").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>True when CI is set: a missing engine fails instead of skipping.</summary>
    public static bool UnderCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Null when usable, else why not.</summary>
    public static Task<string?> ProblemAsync() => Problem.Value;

    /// <summary>Skips (developer machine) or fails (CI) the calling test when there is no engine.</summary>
    public static async Task RequireAsync()
    {
        if (await ProblemAsync() is not { } problem) return;
        var message = $"{problem}. Prepare one with docker/test-engine/prepare.sh (see docs/testing.md, Docker tests).";
        if (UnderCi) Assert.Fail("CI is set but the Docker tests cannot run: " + message);
        Assert.Skip(message);
    }

    private static async Task<string?> FindProblemAsync()
    {
        try
        {
            var info = await Shell.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(30));
            if (info.ExitCode != 0) return $"No Docker engine answers (docker info: {info.Output.Trim()})";
            var compose = await Shell.RunAsync(ComposeCommand[0], [.. ComposeCommand.Skip(1), "version"], TimeSpan.FromSeconds(30));
            if (compose.ExitCode != 0) return $"{string.Join(' ', ComposeCommand)} is not usable: {compose.Output.Trim()}";
            return null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"docker or docker-compose is not installed ({e.Message})";
        }
    }
}
