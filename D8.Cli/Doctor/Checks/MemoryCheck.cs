using D8.Cli.Setup;
using D8.Cli.Verification;
using D8.Contracts;

namespace D8.Cli.Doctor.Checks;

/// <summary>Enough RAM for the chosen model (a local model must fit; cloud workers need little).</summary>
public sealed class MemoryCheck : IDoctorCheck
{
    private const long CloudWorkerBytes = 512L << 20;

    public string Name => "memory";

    public Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var total = doctor.Env.System.Memory.Read().TotalBytes;
        if (total is null) return Task.FromResult(Outcome.Warn("could not read the total memory", "check /proc/meminfo is readable"));
        var have = Gb(total.Value);

        if (doctor.Provider != ProviderCatalog.Ollama)
        {
            return Task.FromResult(total >= CloudWorkerBytes
                ? Outcome.Pass($"{have} RAM (a cloud worker needs about 0.5 GB)")
                : Outcome.Fail($"{have} RAM is below the 0.5 GB a worker needs", "free memory or use a bigger machine"));
        }
        var model = doctor.Model ?? ModelAdvisor.Small.Model;
        var needs = ModelAdvisor.NeedsOf(model);
        if (needs is null)
        {
            return Task.FromResult(Outcome.Warn($"{have} RAM; d8 has no memory figure for {model}",
                $"make sure {model} fits: as a rule its download size plus 1.5 GB"));
        }
        if (total >= needs.MinMemoryBytes)
        {
            return Task.FromResult(Outcome.Pass($"{have} RAM is enough for {model} (needs {Gb(needs.MinMemoryBytes)})"));
        }
        var smaller = ModelAdvisor.Suggest(total);
        return Task.FromResult(Outcome.Fail($"{have} RAM is not enough for {model} (needs {Gb(needs.MinMemoryBytes)})",
            smaller is not null && smaller != model ? $"use {smaller}: set {WorkerEnvNames.DeepSeekModel}={smaller} in the .env" : "use a cloud provider (d8 setup worker --provider groq)"));
    }

    internal static string Gb(long bytes) => $"{bytes / (double)(1L << 30):0.0} GB";
}
