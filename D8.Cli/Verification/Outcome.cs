namespace D8.Cli.Verification;

/// <summary>How a check came out.</summary>
public enum OutcomeStatus { Pass, Warn, Fail, Skip }

/// <summary>A check's result: status, what was found, and (when not passing) the fix in one line.</summary>
public sealed record Outcome(OutcomeStatus Status, string Message, string? Fix = null)
{
    public static Outcome Pass(string message) => new(OutcomeStatus.Pass, message);
    public static Outcome Warn(string message, string fix) => new(OutcomeStatus.Warn, message, fix);
    public static Outcome Fail(string message, string fix) => new(OutcomeStatus.Fail, message, fix);
    public static Outcome Skip(string message) => new(OutcomeStatus.Skip, message);

    public bool Failed => Status == OutcomeStatus.Fail;
}
