using System.Text.Json;
using D8.Cli;
using D8.Tests.Docker.Infrastructure;

namespace D8.Tests.Docker.Deployment;

/// <summary><c>d8 doctor</c>'s Docker checks against the real engine the other tests use (not the fake system of D8.Tests).</summary>
[Collection("docker")]
public sealed class DoctorTests
{
    [Fact]
    public async Task Doctor_passes_docker_compose_and_docker_platform_against_the_real_engine()
    {
        await DockerEngine.RequireAsync();
        var ct = TestContext.Current.CancellationToken;
        var folder = Path.Combine(Path.GetTempPath(), "d8-doctor-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var process = CliEnvironment.FromProcess();
            var env = new CliEnvironment
            {
                // PATH finds docker and docker-compose; nothing else of the runner's environment (no D8_* keys).
                Variables = new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "" },
                WorkingDirectory = folder,
                HomeDirectory = folder,
                System = process.System,
            };
            var code = await CliApp.RunAsync(["doctor", "--only", "docker", "compose", "docker-platform", "--json"], output, error, env, ct);

            Assert.True(code == 0, $"exit {code}\n{output}\n{error}");
            using var report = JsonDocument.Parse(output.ToString());
            var checks = report.RootElement.GetProperty("checks").EnumerateArray()
                .ToDictionary(c => c.GetProperty("name").GetString()!, c => (Status: c.GetProperty("status").GetString(), Message: c.GetProperty("message").GetString()!));
            Assert.Equal(["compose", "docker", "docker-platform"], checks.Keys.Order());
            Assert.All(checks.Values, c => Assert.Equal("pass", c.Status));

            // The answers are the engine's own: the server version docker reports, the architecture it runs as.
            var info = await Shell.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}|{{.Architecture}}"], TimeSpan.FromSeconds(30), ct: ct);
            var (version, arch) = (info.Output.Trim().Split('|')[0], info.Output.Trim().Split('|')[1]);
            Assert.Contains(version, checks["docker"].Message, StringComparison.Ordinal);
            Assert.Contains(arch, checks["docker-platform"].Message, StringComparison.Ordinal);
            Assert.Contains("compose", checks["compose"].Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
