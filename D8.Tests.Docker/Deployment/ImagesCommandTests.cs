using System.Net.Http.Headers;
using System.Text.Json;
using D8.Tests.Docker.Infrastructure;

namespace D8.Tests.Docker.Deployment;

/// <summary>`d8 images` to a registry (one multi-arch index) and to an archive a Pi can `docker load`.</summary>
[Collection("docker")]
public sealed class ImagesCommandTests(TestImages images)
{
    private const string ArchiveTag = TestImages.Tag + "-archive";

    [Fact]
    public async Task Registry_destination_pushes_one_index_for_amd64_and_arm64()
    {
        await images.RequireAsync();
        var repository = "d8test" + Guid.NewGuid().ToString("N")[..8];
        await images.RunImagesAsync(["--to", "registry", "--registry", $"localhost:5000/{repository}", "--only", "worker"]);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:5000/v2/{repository}/d8-worker/manifests/{TestImages.Tag}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.docker.distribution.manifest.list.v2+json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.oci.image.index.v1+json"));
        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}");
        using var index = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var architectures = index.RootElement.GetProperty("manifests").EnumerateArray()
            .Select(m => m.GetProperty("platform").GetProperty("architecture").GetString()).Order().ToArray();
        Assert.Equal(["amd64", "arm64"], architectures);
    }

    [Fact]
    public async Task Archive_destination_writes_an_arm64_archive_that_docker_loads()
    {
        await images.RequireAsync();
        var folder = Path.Combine(Path.GetTempPath(), "d8-archive-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await images.RunImagesAsync(["--to", "archive", "--arch", "arm64", "--only", "worker", "-o", folder], ArchiveTag);
            var archive = Path.Combine(folder, "d8-worker-arm64.tar.gz");
            Assert.True(File.Exists(archive));

            var load = await Shell.RunAsync("docker", ["load", "-i", archive], TimeSpan.FromMinutes(3), ct: TestContext.Current.CancellationToken);
            Assert.True(load.ExitCode == 0, load.ToString());
            Assert.Contains($"d8-worker:{ArchiveTag}", load.Output, StringComparison.Ordinal);
            var arch = await Shell.RunAsync("docker", ["image", "inspect", "-f", "{{.Architecture}}", $"d8-worker:{ArchiveTag}"], TimeSpan.FromSeconds(30), ct: TestContext.Current.CancellationToken);
            Assert.Equal("arm64", arch.Output.Trim());
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            await Shell.RunAsync("docker", ["rmi", $"d8-worker:{ArchiveTag}"], TimeSpan.FromMinutes(1), ct: TestContext.Current.CancellationToken);
        }
    }
}
