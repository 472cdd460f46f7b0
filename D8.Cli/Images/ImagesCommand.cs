using System.CommandLine;

namespace D8.Cli.Images;

/// <summary>
/// <c>d8 images</c>: builds the orchestrator and worker images with the .NET SDK container tooling (run from a clone of
/// the repository) into the local engine, a registry (one multi-arch index) or one archive per architecture.
/// </summary>
public static class ImagesCommand
{
    public static Command Create(CliContext ctx)
    {
        var to = new Option<ImageDestination>("--to") { Description = "local (the Docker engine here), registry (push one amd64+arm64 index) or archive (a .tar.gz per architecture for docker load)", DefaultValueFactory = _ => ImageDestination.Local };
        var registry = new Option<string?>("--registry") { Description = "With --to registry: HOST[:PORT][/PATH], e.g. 192.168.1.10:5000 or ghcr.io/OWNER" };
        var arch = new Option<string?>("--arch") { Description = "amd64, arm64 or amd64,arm64 (default: this machine's for local, both otherwise)" };
        var tag = new Option<string>("--tag") { Description = "Image tag", DefaultValueFactory = _ => "latest" };
        var output = new Option<string>("--output", "-o") { Description = "With --to archive: folder of the archives", DefaultValueFactory = _ => "images" };
        var baseImage = new Option<string?>("--base-image") { Description = "Base image (default: mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled)" };
        var insecure = new Option<bool>("--insecure") { Description = "The registry (or base image registry) speaks plain HTTP, e.g. a registry on your LAN" };
        var emulators = new Option<bool>("--with-emulators") { Description = "Also build d8-emulators (the provider emulators the Docker tests run)" };
        var only = new Option<string?>("--only") { Description = "Comma-separated subset: orchestrator, worker, emulators (e.g. --only worker --arch arm64)" };
        var source = new Option<string?>("--source") { Description = "Repository root (default: the folder holding D8.sln at or above the current one)" };
        var command = new Command("images", "Build the D8 container images (orchestrator, worker) for amd64 and arm64")
        {
            to, registry, arch, tag, output, baseImage, insecure, emulators, only, source,
        };
        command.SetAction(async (parse, ct) =>
        {
            var destination = parse.GetValue(to);
            var request = new ImageRequest
            {
                Destination = destination,
                Projects = Projects(parse.GetValue(emulators), parse.GetValue(only)),
                Architectures = Architectures(parse.GetValue(arch), destination),
                Tag = parse.GetValue(tag) ?? "latest",
                Registry = parse.GetValue(registry),
                OutputDirectory = ctx.Env.ResolvePath(parse.GetValue(output) ?? "images"),
                BaseImage = parse.GetValue(baseImage),
                SourceDirectory = FindSource(ctx, parse.GetValue(source)),
            };
            var steps = ImagePlan.Create(request);
            if (destination == ImageDestination.Archive) Directory.CreateDirectory(request.OutputDirectory!);
            var insecureHosts = parse.GetValue(insecure) ? InsecureHosts(request) : null;
            await new ImageBuilder(ctx) { InsecureRegistries = insecureHosts }.RunAsync(steps, ct);
            await ctx.Out.WriteLineAsync(NextStep(request));
            return 0;
        });
        return command;
    }

    private static IReadOnlyList<ImageProject> Projects(bool withEmulators, string? only)
    {
        IReadOnlyList<ImageProject> all = [.. ImageProject.Deployable, ImageProject.Emulators];
        if (string.IsNullOrWhiteSpace(only)) return withEmulators ? all : ImageProject.Deployable;
        return [.. only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(name =>
            all.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new CliException($"--only: unknown image '{name}' (orchestrator, worker, emulators)"))];
    }

    private static IReadOnlyList<string> Architectures(string? value, ImageDestination destination)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return destination == ImageDestination.Local ? [ImagePlan.HostArchitecture] : ["amd64", "arm64"];
        }
        var list = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(a => a.ToLowerInvariant() switch { "x64" or "amd64" => "amd64", "arm64" or "aarch64" => "arm64", _ => throw new CliException($"unknown architecture '{a}': use amd64 or arm64") })
            .Distinct().ToList();
        return list;
    }

    private static string InsecureHosts(ImageRequest request)
    {
        var hosts = new List<string>();
        if (request.Registry is { Length: > 0 }) hosts.Add(ImagePlan.SplitRegistry(request.Registry).Host);
        if (request.BaseImage is { } b && b.Split('/')[0] is var host && (host.Contains('.') || host.Contains(':'))) hosts.Add(host);
        return string.Join(';', hosts.Distinct());
    }

    private static string FindSource(CliContext ctx, string? given)
    {
        var start = ctx.Env.ResolvePath(given ?? ".");
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "D8.sln"))) return dir.FullName;
        }
        throw new CliException($"no D8.sln at or above {start}: run d8 images in a clone of the D8 repository (or pass --source)");
    }

    private static string NextStep(ImageRequest request) => request.Destination switch
    {
        ImageDestination.Registry =>
            $"next: on each host set D8_REGISTRY={request.Registry!.Trim().TrimEnd('/')}/ and D8_TAG={request.Tag} in .env, then docker compose pull",
        ImageDestination.Archive =>
            $"next: copy {request.OutputDirectory}/*-arm64.tar.gz to the Pi (scp), there: for f in *.tar.gz; do docker load -i \"$f\"; done",
        _ => "next: docker compose -f docker-compose.generated.yml --env-file .env --profile … up -d (D8_REGISTRY empty)",
    };
}
