namespace D8.Tests.Docker.Deployment;

/// <summary>Deadlines with at least 3× headroom over what was measured here (2 cores, arm64 under qemu).</summary>
internal static class Timeouts
{
    /// <summary>Health checks run every 3 s in the tests (compose.timing.yml): healthy within seconds of start-up.</summary>
    public static readonly TimeSpan Healthy = TimeSpan.FromMinutes(4);

    /// <summary>arm64 under qemu: start-up ≈ 7 s plus a slow JIT.</summary>
    public static readonly TimeSpan HealthyArm64 = TimeSpan.FromMinutes(6);

    /// <summary>A task against an emulator takes well under a second; a lost lease is retried after 15 s (compose.timing.yml).</summary>
    public static readonly TimeSpan Task = TimeSpan.FromMinutes(3);

    /// <summary>Lease expiry (15 s in the tests) plus the retried run with slowed-down tokens (12 s).</summary>
    public static readonly TimeSpan TaskAfterWorkerLoss = TimeSpan.FromMinutes(5);
}
