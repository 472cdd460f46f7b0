using D8.Cli.Setup;
using D8.Cli.Verification;
using D8.Contracts;

namespace D8.Cli.Doctor.Checks;

/// <summary>Enough free disk where Docker keeps images for the images and the model download.</summary>
public sealed class DiskSpaceCheck : IDoctorCheck
{
    private const long ImagesBytes = 2L << 30;

    public string Name => "disk";

    public Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        // Docker's data root holds images and the Ollama volume; fall back to the working folder.
        var where = Directory.Exists("/var/lib/docker") ? "/var/lib/docker" : doctor.Env.WorkingDirectory;
        var free = doctor.Env.System.Disk.FreeBytes(where);
        if (free is null) return Task.FromResult(Outcome.Warn($"could not read free space at {where}", "check with df -h"));

        var model = doctor.Provider == ProviderCatalog.Ollama ? ModelAdvisor.NeedsOf(doctor.Model ?? ModelAdvisor.Small.Model) : null;
        var need = ImagesBytes + (model?.DownloadBytes ?? 0);
        var what = model is null ? "the images" : $"the images and {model.Model}";
        if (free < need)
        {
            return Task.FromResult(Outcome.Fail($"{MemoryCheck.Gb(free.Value)} free at {where}; {what} need {MemoryCheck.Gb(need)}",
                "free space (docker system df; docker image prune) or use a bigger disk"));
        }
        return Task.FromResult(free < 2 * need
            ? Outcome.Warn($"{MemoryCheck.Gb(free.Value)} free at {where}: enough for {what} ({MemoryCheck.Gb(need)}) but little to spare", "free some space before updates")
            : Outcome.Pass($"{MemoryCheck.Gb(free.Value)} free at {where} ({what} need {MemoryCheck.Gb(need)})"));
    }
}
