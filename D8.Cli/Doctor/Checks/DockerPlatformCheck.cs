using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>
/// Docker's own architecture can run the D8 images (a 32-bit Raspberry Pi OS runs a 32-bit Docker even on a 64-bit
/// Pi, and cannot run arm64 images), and the memory cgroup is on (otherwise Docker silently ignores mem_limit).
/// </summary>
public sealed class DockerPlatformCheck : IDoctorCheck
{
    public string Name => "docker-platform";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var result = await doctor.Env.System.Commands.RunAsync("docker", ["info", "--format", "{{.Architecture}}|{{.MemoryLimit}}"], TimeSpan.FromSeconds(20), ct);
        if (result.ExitCode != 0) return Outcome.Skip("the Docker daemon does not answer (see the docker check)");
        var parts = result.StdOut.Trim().Split('|');
        if (parts.Length != 2) return Outcome.Skip($"docker info gave '{result.StdOut.Trim()}'");
        var (arch, memoryLimit) = (parts[0].Trim(), parts[1].Trim());
        if (arch is "armv7l" or "armv6l" or "armhf" or "arm" or "i686" or "i386")
        {
            return Outcome.Fail($"Docker runs as {arch} (32-bit): it cannot run the arm64/amd64 D8 and Ollama images",
                "install the 64-bit Raspberry Pi OS (or another arm64 system), then Docker again");
        }
        if (!string.Equals(memoryLimit, "true", StringComparison.OrdinalIgnoreCase))
        {
            return Outcome.Fail($"Docker ({arch}) has no memory cgroup: the compose memory limits would be silently ignored",
                "Raspberry Pi OS: append ' cgroup_enable=memory cgroup_memory=1' to the line in /boot/firmware/cmdline.txt (older: /boot/cmdline.txt), then reboot");
        }
        return Outcome.Pass($"Docker runs as {arch} with the memory cgroup enabled");
    }
}
