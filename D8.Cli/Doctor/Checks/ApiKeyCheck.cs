using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>The orchestrator accepts the client API key d8 uses (when one is configured).</summary>
public sealed class ApiKeyCheck : IDoctorCheck
{
    public string Name => "api-key";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        if (doctor.ApiKey is not { } key) return Outcome.Skip("no client API key configured (only d8 status/submit need one)");
        if ((await doctor.HealthAsync(ct)).Outcome.Failed) return Outcome.Skip("orchestrator unreachable");
        return await OrchestratorProbe.ApiKeyAsync(doctor.Cli, doctor.OrchestratorUrl!, key, ct, doctor.Pin);
    }
}
