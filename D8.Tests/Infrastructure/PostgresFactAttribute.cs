namespace D8.Tests.Infrastructure;

/// <summary>
/// A fact that needs a PostgreSQL server (<see cref="PostgresServer"/>): skipped with the reason where no server
/// binaries exist and <c>D8_TEST_POSTGRES</c> is not set — except under CI (<c>CI=true</c>), where it runs and fails,
/// because <c>.ci/run</c> installs the binaries.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Unavailable is { } reason && !RunsUnderCi) Skip = reason;
    }

    internal static bool RunsUnderCi =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The theory form of <see cref="PostgresFactAttribute"/>.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (PostgresServer.Unavailable is { } reason && !PostgresFactAttribute.RunsUnderCi) Skip = reason;
    }
}
