using D8.Cli;
using D8.Cli.Images;

namespace D8.Tests.Cli;

/// <summary>`d8 images` turns each destination into the right SDK container tooling runs (no Docker needed).</summary>
[Trait("Category", "Unit")]
public sealed class ImagePlanTests
{
    private static ImageRequest Request(ImageDestination destination, params string[] arch) => new()
    {
        Destination = destination,
        Projects = ImageProject.Deployable,
        Architectures = arch,
        SourceDirectory = "/src",
        Registry = "192.168.1.10:5000/team",
        OutputDirectory = "/out",
    };

    [Fact]
    public void Registry_destination_pushes_one_multi_arch_index_per_image()
    {
        var steps = ImagePlan.Create(Request(ImageDestination.Registry, "amd64", "arm64"));

        Assert.Equal(2, steps.Count);
        var worker = steps[1];
        Assert.Contains("-p:ContainerRegistry=192.168.1.10:5000", worker.Arguments);
        Assert.Contains("-p:ContainerRepository=team/d8-worker", worker.Arguments);
        // Both architectures come from the project's ContainerRuntimeIdentifiers (linux-x64;linux-arm64).
        Assert.DoesNotContain(worker.Arguments, a => a.StartsWith("-p:ContainerRuntimeIdentifiers", StringComparison.Ordinal));
        Assert.Contains("-p:D8ContainerSelfContained=true", worker.Arguments);
        Assert.DoesNotContain("-r", worker.Arguments);
        Assert.Equal("192.168.1.10:5000/team/d8-worker:latest", worker.Result);
    }

    [Fact]
    public void Archive_destination_writes_one_archive_per_image_and_architecture()
    {
        var steps = ImagePlan.Create(Request(ImageDestination.Archive, "arm64"));

        Assert.Equal(["/out/d8-orchestrator-arm64.tar.gz", "/out/d8-worker-arm64.tar.gz"], steps.Select(s => s.Result));
        Assert.All(steps, s => Assert.Contains("linux-arm64", s.Arguments));
        Assert.All(steps, s => Assert.Contains(s.Arguments, a => a.StartsWith("-p:ContainerArchiveOutputPath=", StringComparison.Ordinal)));
    }

    [Fact]
    public void Local_destination_tags_a_foreign_architecture_apart()
    {
        var other = ImagePlan.HostArchitecture == "amd64" ? "arm64" : "amd64";
        var steps = ImagePlan.Create(Request(ImageDestination.Local, ImagePlan.HostArchitecture, other));

        Assert.Contains("d8-worker:latest", steps.Select(s => s.Result));
        Assert.Contains($"d8-worker:latest-{other}", steps.Select(s => s.Result));
    }

    [Theory]
    [InlineData("https://ghcr.io/me")]
    [InlineData("")]
    public void A_registry_needs_host_and_no_scheme(string registry) =>
        Assert.Throws<CliException>(() => ImagePlan.Create(Request(ImageDestination.Registry, "amd64") with { Registry = registry }));
}
