using D8.Cli.Verification;

namespace D8.Cli.Doctor;

/// <summary>One thing <c>d8 doctor</c> checks.</summary>
public interface IDoctorCheck
{
    /// <summary>Short name shown before the outcome, e.g. "docker".</summary>
    string Name { get; }

    Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct);
}
