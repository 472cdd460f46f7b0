using Xunit.Abstractions;

namespace D8.Tests.Infrastructure;

/// <summary>Tests start processes with their xunit output helper as the log.</summary>
public sealed partial class ProcessHost
{
    /// <summary>Starts `dotnet &lt;project&gt;.dll args…`; every output line also goes to the test's output.</summary>
    public static ProcessHost Start(string project, IReadOnlyDictionary<string, string?> environment,
        IEnumerable<string>? args = null, ITestOutputHelper? log = null, string? name = null) =>
        Launch(project, environment, args, log is null ? null : line => WriteTo(log, line), name);

    private static void WriteTo(ITestOutputHelper log, string line)
    {
        try
        {
            log.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // the test that owned the output helper has finished
        }
    }
}
