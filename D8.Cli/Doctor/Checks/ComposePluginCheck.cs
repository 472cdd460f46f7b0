using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>
/// Compose is present with profile support: the v2 plugin (<c>docker compose</c>) or Debian's / Raspberry Pi OS's
/// <c>docker-compose</c> 1.28+ (bookworm ships 1.29.2). The generated compose file works with both.
/// </summary>
public sealed class ComposePluginCheck : IDoctorCheck
{
    public string Name => "compose";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var plugin = await doctor.Env.System.Commands.RunAsync("docker", ["compose", "version", "--short"], TimeSpan.FromSeconds(20), ct);
        if (plugin.ExitCode == 0 && !plugin.StdOut.TrimStart('v').StartsWith('1'))
        {
            return Outcome.Pass($"docker compose {plugin.StdOut.TrimStart('v')}");
        }
        var standalone = await doctor.Env.System.Commands.RunAsync("docker-compose", ["version", "--short"], TimeSpan.FromSeconds(20), ct);
        if (standalone.ExitCode == 0 && Version.TryParse(standalone.StdOut.Trim().TrimStart('v'), out var version))
        {
            return version >= new Version(1, 28)
                ? Outcome.Pass($"docker-compose {version} (use docker-compose where the docs say docker compose)")
                : Outcome.Fail($"docker-compose {version} is too old for profiles (1.28+ needed)", Install);
        }
        return plugin.NotFound
            ? Outcome.Fail("docker is not installed, so neither is compose", Install)
            : Outcome.Fail("the docker compose plugin is missing and docker-compose is not installed", Install);
    }

    /// <summary>Commands that exist on Debian / Raspberry Pi OS (docker-compose-plugin is only in Docker's own repository).</summary>
    private const string Install = "sudo apt-get install docker-compose (Debian, Raspberry Pi OS), or Docker's packages with the plugin: curl -fsSL https://get.docker.com | sh";
}
