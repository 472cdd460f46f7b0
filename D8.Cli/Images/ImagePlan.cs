using System.Runtime.InteropServices;

namespace D8.Cli.Images;

/// <summary>Where `d8 images` puts the images.</summary>
public enum ImageDestination
{
    /// <summary>The local Docker engine (docker load under the hood of the SDK).</summary>
    Local,

    /// <summary>A registry: one multi-arch index per image.</summary>
    Registry,

    /// <summary>One .tar.gz per image and architecture, for `docker load` on a host without a registry.</summary>
    Archive,
}

/// <summary>An image `d8 images` can build: the project and its repository name.</summary>
/// <param name="Name">Short name used on the command line (orchestrator, worker, emulators).</param>
/// <param name="Project">Project folder relative to the repository root.</param>
/// <param name="Repository">Image repository (d8-orchestrator, …).</param>
public sealed record ImageProject(string Name, string Project, string Repository)
{
    /// <summary>The images a deployment needs.</summary>
    public static IReadOnlyList<ImageProject> Deployable { get; } =
    [
        new("orchestrator", "D8.Orchestrator", "d8-orchestrator"),
        new("worker", "D8.Worker", "d8-worker"),
    ];

    /// <summary>The provider emulators (test-only: docker/compose.emulators.yml swaps them in).</summary>
    public static ImageProject Emulators { get; } = new("emulators", "D8.Emulators.Server", "d8-emulators");
}

/// <summary>What to build and where.</summary>
public sealed record ImageRequest
{
    public required ImageDestination Destination { get; init; }
    public required IReadOnlyList<ImageProject> Projects { get; init; }
    /// <summary>Docker architecture names: amd64, arm64.</summary>
    public required IReadOnlyList<string> Architectures { get; init; }
    public string Tag { get; init; } = "latest";
    /// <summary>registry host[:port][/path] for <see cref="ImageDestination.Registry"/>.</summary>
    public string? Registry { get; init; }
    /// <summary>Folder of the archives for <see cref="ImageDestination.Archive"/>.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>Overrides the base image (default: mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled).</summary>
    public string? BaseImage { get; init; }
    /// <summary>Repository root holding D8.sln.</summary>
    public required string SourceDirectory { get; init; }
}

/// <summary>One `dotnet publish -t:PublishContainer` run.</summary>
/// <param name="Title">What it builds, for the progress line.</param>
/// <param name="Arguments">Arguments after `dotnet`.</param>
/// <param name="Result">Where the image ends up (image reference or file).</param>
public sealed record ImageBuildStep(string Title, IReadOnlyList<string> Arguments, string Result);

/// <summary>Turns a request into the SDK container tooling runs (pure: no process, no Docker).</summary>
public static class ImagePlan
{
    /// <summary>Docker's name for the architecture this process runs on.</summary>
    public static string HostArchitecture => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "amd64";

    /// <summary>The .NET runtime identifier of a Docker architecture.</summary>
    public static string RuntimeIdentifier(string architecture) => architecture switch
    {
        "amd64" => "linux-x64",
        "arm64" => "linux-arm64",
        _ => throw new CliException($"unknown architecture '{architecture}': use amd64 or arm64"),
    };

    /// <summary>
    /// The local tag of an image for <paramref name="architecture"/>: the plain tag for the host's architecture (what
    /// the compose file runs), tag-arch for another one (e.g. latest-arm64, run with D8_TAG=latest-arm64).
    /// </summary>
    public static string LocalTag(string tag, string architecture) =>
        architecture == HostArchitecture ? tag : $"{tag}-{architecture}";

    /// <summary>The runs, in order.</summary>
    public static IReadOnlyList<ImageBuildStep> Create(ImageRequest request)
    {
        var steps = new List<ImageBuildStep>();
        foreach (var project in request.Projects)
        {
            var path = Path.Combine(request.SourceDirectory, project.Project, project.Project + ".csproj");
            if (request.Destination == ImageDestination.Registry)
            {
                var (host, prefix) = SplitRegistry(request.Registry);
                var repository = prefix.Length == 0 ? project.Repository : $"{prefix}/{project.Repository}";
                // Both architectures: the projects' own ContainerRuntimeIdentifiers (an escaped ';' on the command line would
                // reach RuntimeIdentifiers as one literal value). One architecture: that one only.
                string[] rids = request.Architectures.Count == 1 ? [$"-p:ContainerRuntimeIdentifiers={RuntimeIdentifier(request.Architectures[0])}"] : [];
                steps.Add(new($"{project.Repository} {string.Join("+", request.Architectures)} → {host}",
                    [.. Common(path, request), .. rids, $"-p:ContainerRegistry={host}",
                        $"-p:ContainerRepository={repository}", $"-p:ContainerImageTags={request.Tag}"],
                    $"{host}/{repository}:{request.Tag}"));
                continue;
            }
            foreach (var arch in request.Architectures)
            {
                var rid = RuntimeIdentifier(arch);
                var args = new List<string>(Common(path, request)) { "-r", rid, "-p:ContainerRuntimeIdentifiers=", $"-p:ContainerRepository={project.Repository}" };
                if (request.Destination == ImageDestination.Archive)
                {
                    var file = Path.Combine(request.OutputDirectory ?? ".", $"{project.Repository}-{arch}.tar.gz");
                    args.Add($"-p:ContainerImageTags={request.Tag}");
                    args.Add($"-p:ContainerArchiveOutputPath={file}");
                    steps.Add(new($"{project.Repository} {arch} → {file}", args, file));
                }
                else
                {
                    var tag = LocalTag(request.Tag, arch);
                    args.Add($"-p:ContainerImageTags={tag}");
                    steps.Add(new($"{project.Repository} {arch} → local engine", args, $"{project.Repository}:{tag}"));
                }
            }
        }
        return steps;
    }

    private static List<string> Common(string project, ImageRequest request)
    {
        var args = new List<string> { "publish", project, "-c", "Release", "-t:PublishContainer", "-p:D8ContainerSelfContained=true", "-nologo" };
        if (request.BaseImage is { Length: > 0 } baseImage) args.Add($"-p:ContainerBaseImage={baseImage}");
        return args;
    }

    /// <summary>"host:5000/team/d8" → ("host:5000", "team/d8").</summary>
    internal static (string Host, string Prefix) SplitRegistry(string? registry)
    {
        if (string.IsNullOrWhiteSpace(registry)) throw new CliException("--to registry needs --registry HOST[:PORT][/PATH], e.g. --registry 192.168.1.10:5000");
        var trimmed = registry.Trim().TrimEnd('/');
        if (trimmed.Contains("://", StringComparison.Ordinal)) throw new CliException($"--registry '{registry}': give host[:port][/path] without a scheme");
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (trimmed, "") : (trimmed[..slash], trimmed[(slash + 1)..]);
    }
}
