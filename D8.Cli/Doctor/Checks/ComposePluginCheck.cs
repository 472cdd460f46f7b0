using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>The compose plugin is present (<c>docker compose version</c>); profiles need v2.</summary>
public sealed class ComposePluginCheck : IDoctorCheck
{
    public string Name => "compose";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var result = await doctor.Env.System.Commands.RunAsync("docker", ["compose", "version", "--short"], TimeSpan.FromSeconds(20), ct);
        if (result.NotFound)
        {
            return Outcome.Fail("docker is not installed, so neither is compose", "install Docker Engine with the compose plugin");
        }
        if (result.ExitCode != 0)
        {
            return Outcome.Fail("the docker compose plugin is missing", "sudo apt-get install docker-compose-plugin");
        }
        var version = result.StdOut.TrimStart('v');
        return version.StartsWith('1')
            ? Outcome.Fail($"docker compose {version} is too old for profiles", "install compose v2: sudo apt-get install docker-compose-plugin")
            : Outcome.Pass($"docker compose {version}");
    }
}
