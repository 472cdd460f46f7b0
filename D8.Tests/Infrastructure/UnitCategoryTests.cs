using System.Text.RegularExpressions;

namespace D8.Tests.Infrastructure;

/// <summary>
/// Keeps the fast inner loop honest: <c>dotnet test D8.Tests --filter Category=Unit</c> runs only pure and in-process
/// tests (an in-process orchestrator, the emulators, the CLI in-process), never a child process, a container or the
/// AppHost, and the docs show the command.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class UnitCategoryTests
{
    private const string UnitTrait = "[Trait(\"Category\", \"Unit\")]";

    [Fact]
    public void No_unit_test_starts_a_process_a_container_or_the_AppHost()
    {
        var tests = Path.Combine(Repository.Root, "D8.Tests");
        var unitFiles = Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(nameof(UnitCategoryTests) + ".cs", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains(UnitTrait, StringComparison.Ordinal))
            .ToList();
        Assert.True(unitFiles.Count > 30, $"only {unitFiles.Count} files hold unit tests: is the trait spelled {UnitTrait}?");

        var offenders = unitFiles
            .Select(f => (File: Path.GetRelativePath(tests, f), Helper: ProcessHelper().Match(File.ReadAllText(f))))
            .Where(x => x.Helper.Success)
            .Select(x => $"{x.File} uses {x.Helper.Value}")
            .ToList();
        Assert.True(offenders.Count == 0, "a Category=Unit test class starts processes: " + string.Join("; ", offenders));
    }

    [Fact]
    public void The_docs_show_the_unit_filter()
    {
        foreach (var doc in new[] { "README.md", Path.Combine("docs", "testing.md") })
        {
            Assert.Contains("--filter Category=Unit", File.ReadAllText(Path.Combine(Repository.Root, doc)), StringComparison.Ordinal);
        }
    }

    /// <summary>The helpers that start child processes, containers or the AppHost.</summary>
    [GeneratedRegex(@"\b(ProcessHost|ProcessFleet|WorkerFleet|TlsFleet|BatchFleet|GatewayFleet|AppHostFixture|DistributedApplicationTestingBuilder|ComposeOutput|StreamRelayProcess|PostgresServer)\b")]
    private static partial Regex ProcessHelper();
}
