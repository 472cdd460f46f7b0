namespace D8.Tests.Infrastructure;

/// <summary>Finds the built output of the solution's projects from the test assembly's location.</summary>
public static class AppPaths
{
    /// <summary>The repository root (the folder holding D8.sln).</summary>
    public static string RepoRoot => Repository.Root;

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
}
