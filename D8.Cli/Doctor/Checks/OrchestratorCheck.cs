using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>The orchestrator answers healthy on /health.</summary>
public sealed class OrchestratorCheck : IDoctorCheck
{
    public string Name => "orchestrator";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct) => (await doctor.HealthAsync(ct)).Outcome;
}
