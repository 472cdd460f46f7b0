namespace D8.Tests.Infrastructure;

/// <summary>Finds the built output of the solution's projects from the test assembly's location.</summary>
public static class AppPaths
{
    /// <summary>The repository root (the folder holding D8.sln).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>Path of a project's built dll, e.g. DllOf("D8.Worker"), in the same configuration as the tests.</summary>
    public static string DllOf(string project)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // bin/<Configuration>/net10.0
        var path = Path.Combine(RepoRoot, project, "bin", configuration, "net10.0", project + ".dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{project} is not built in {configuration}: {path}");
        }
        return path;
    }

    private static string FindRoot()
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
