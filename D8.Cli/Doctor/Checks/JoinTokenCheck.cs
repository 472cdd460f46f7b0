using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>The orchestrator accepts the worker's join token (checked without registering).</summary>
public sealed class JoinTokenCheck : IDoctorCheck
{
    public string Name => "join-token";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        if (doctor.JoinToken is not { } token)
        {
            return doctor.EnvValues is null
                ? Outcome.Skip("no .env and no D8_JOIN_TOKEN: not a worker host")
                : Outcome.Fail("no join token in the .env", "run d8 setup worker");
        }
        if ((await doctor.HealthAsync(ct)).Outcome.Failed) return Outcome.Skip("orchestrator unreachable");
        return await OrchestratorProbe.JoinTokenAsync(doctor.Cli, doctor.OrchestratorUrl!, token, ct);
    }
}
