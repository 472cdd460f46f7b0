namespace D8.Tests.Infrastructure;

/// <summary>
/// The one rule for what a child process started by a test or benchmark must not inherit from the runner's environment
/// (compiled into D8.Tests and, linked, D8.Benchmarks and D8.Tests.Docker): a D8 setting or a provider key of the shell
/// that runs the tests (a developer's real GROQ_API_KEY, D8_JOIN_TOKEN…), a listening address, or the test host's own
/// telemetry exporter. A child sees only what its test gives it.
/// </summary>
public static class ChildEnvironment
{
    /// <summary>True for a variable of the runner's environment a child must not see.</summary>
    public static bool Withheld(string key) =>
        key.StartsWith("D8_", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith("_API_KEY", StringComparison.OrdinalIgnoreCase)
        || key is "ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS" or "HTTP_PORTS" or "ASPNETCORE_HTTPS_PORTS" or "HTTPS_PORTS"
            or "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Removes every <see cref="Withheld"/> variable from a child's environment (before the test adds its own).</summary>
    public static void Scrub(IDictionary<string, string?> environment)
    {
        foreach (var key in environment.Keys.Where(Withheld).ToList())
        {
            environment.Remove(key);
        }
    }
}
