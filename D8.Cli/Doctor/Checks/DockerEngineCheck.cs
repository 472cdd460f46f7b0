using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>Docker is installed and its daemon answers (<c>docker info</c>).</summary>
public sealed class DockerEngineCheck : IDoctorCheck
{
    public string Name => "docker";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var result = await doctor.Env.System.Commands.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(20), ct);
        if (result.NotFound)
        {
            return Outcome.Fail("docker is not installed", "sudo apt-get install docker.io docker-compose (Debian, Raspberry Pi OS), or: curl -fsSL https://get.docker.com | sh");
        }
        if (result.ExitCode != 0)
        {
            var why = CliApp.FirstLine(result.StdErr.Length > 0 ? result.StdErr : result.StdOut);
            return why.Contains("permission denied", StringComparison.OrdinalIgnoreCase)
                ? Outcome.Fail("docker is installed but this user may not use it: " + why, "sudo usermod -aG docker $USER, then log in again")
                : Outcome.Fail("docker is installed but the daemon is not running: " + why, "sudo systemctl enable --now docker");
        }
        return Outcome.Pass($"Docker Engine {result.StdOut} is running");
    }
}
