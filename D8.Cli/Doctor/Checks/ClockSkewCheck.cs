using D8.Cli.Verification;

namespace D8.Cli.Doctor.Checks;

/// <summary>
/// This host's clock against the orchestrator's (HTTP Date header, one-second resolution). Deadlines and
/// "last heartbeat" ages are compared across machines, so a Pi without a real-time clock that booted offline shows here.
/// </summary>
public sealed class ClockSkewCheck : IDoctorCheck
{
    private static readonly TimeSpan WarnAt = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FailAt = TimeSpan.FromMinutes(2);

    public string Name => "clock";

    public async Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        var (outcome, health) = await doctor.HealthAsync(ct);
        if (outcome.Failed) return Outcome.Skip("orchestrator unreachable");
        if (health?.ServerTime is not { } server) return Outcome.Warn("the orchestrator sent no Date header", "check a proxy is not stripping it");

        // Compare with the local time the answer arrived, not now: the answer is shared with the earlier check.
        var local = doctor.HealthReceivedAt ?? doctor.Env.Time.GetUtcNow();
        var skew = local - server;
        var abs = skew.Duration();
        var text = $"{abs.TotalSeconds:0} s {(skew > TimeSpan.Zero ? "ahead of" : "behind")} the orchestrator";
        if (abs >= FailAt) return Outcome.Fail("this clock is " + text, "enable time sync: sudo timedatectl set-ntp true");
        if (abs > WarnAt) return Outcome.Warn("this clock is " + text, "enable time sync: sudo timedatectl set-ntp true");
        return Outcome.Pass($"clock within {WarnAt.TotalSeconds:0} s of the orchestrator");
    }
}
