namespace D8.Tests.Infrastructure;

/// <summary>
/// The one repository-root finder, compiled into D8.Tests and (linked) D8.Tests.Docker: the folder holding D8.sln,
/// found upwards from the test assembly's location.
/// </summary>
public static class Repository
{
    /// <summary>The repository root (the folder holding D8.sln).</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "D8.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("D8.sln not found above " + AppContext.BaseDirectory);
    }
}
