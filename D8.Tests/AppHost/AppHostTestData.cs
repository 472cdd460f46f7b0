namespace D8.Tests.AppHost;

/// <summary>
/// A temporary folder for the orchestrator's SQLite database of one AppHost test run, passed as
/// --Orchestrator:DataDirectory so tests never write into D8.AppHost/.d8-data (the database a developer's `dotnet run` uses).
/// </summary>
public sealed class AppHostTestData : IDisposable
{
    /// <summary>The folder.</summary>
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("d8-apphost-test-").FullName;

    /// <summary>The AppHost argument pointing the orchestrator at <see cref="Directory"/>.</summary>
    public string Argument => $"--Orchestrator:DataDirectory={Directory}";

    /// <summary>
    /// Environment that lifts the free-tier budgets (Gemini's 5 RPM would pace a 50-task test for minutes): the
    /// integration tests check routing and completion; budgets have their own tests (Worker/BudgetTests).
    /// </summary>
    public static IEnumerable<(string Name, string Value)> UnlimitedBudget => [("D8_RPM", "0"), ("D8_TPM", "0"), ("D8_RPD", "0")];

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A process of the app may still hold the WAL file a moment; the OS temp cleanup takes it later.
        }
    }
}
