using D8.Cli.Setup;
using D8.Cli.Verification;
using D8.Contracts;

namespace D8.Cli.Doctor.Checks;

/// <summary>For Ollama workers: Ollama answers and has the model (or the worker is allowed to pull it).</summary>
public sealed class OllamaCheck : IDoctorCheck
{
    public string Name => "ollama";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        if (doctor.Provider != ProviderCatalog.Ollama) return Outcome.Skip("not an Ollama worker");
        var model = doctor.Model ?? ModelAdvisor.Small.Model;
        var (reachable, present) = await OllamaProbe.CheckAsync(doctor.Cli, doctor.OllamaUrl, model, ct);
        if (reachable.Failed || present is null) return reachable;
        if (present.Status == OutcomeStatus.Pass) return Outcome.Pass($"Ollama at {doctor.OllamaUrl} has {model}");
        // Without start-up pulls the worker would report itself unhealthy, so a missing model is then a failure.
        var pulls = !string.Equals(doctor.Setting("D8_PULL_MODEL"), "false", StringComparison.OrdinalIgnoreCase);
        return pulls
            ? Outcome.Warn($"Ollama at {doctor.OllamaUrl} does not have {model} yet; the worker will pull it at start-up", $"pull it now: d8 ollama pull {model}")
            : Outcome.Fail($"Ollama at {doctor.OllamaUrl} does not have {model} and D8_PULL_MODEL=false", $"d8 ollama pull {model}");
    }
}
