namespace D8.Cli.Doctor;

/// <summary>One check in the --json report.</summary>
public sealed record DoctorCheckResult(string Name, string Status, string Message, string? Fix);

/// <summary>The --json report of <c>d8 doctor</c>.</summary>
public sealed record DoctorReport(int Passed, int Warned, int Failed, int Skipped, IReadOnlyList<DoctorCheckResult> Checks);
