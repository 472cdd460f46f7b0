using System.Diagnostics;
using D8.Cli;

namespace D8.Tests.Docker.Infrastructure;

/// <summary>
/// Builds the images once per test run with `d8 images` (the command users run): orchestrator, worker and emulators
/// for this machine, plus the arm64 worker (run under qemu). Tag <see cref="Tag"/>, so a developer's own images stay.
/// Base image: $D8_TEST_BASE_IMAGE, else the local registry's stand-in (docker/test-engine), else the SDK default.
/// </summary>
public sealed class TestImages : IAsyncLifetime
{
    /// <summary>Tag of every image the tests build (D8_TAG in the test .env).</summary>
    public const string Tag = "d8test";

    private const string LocalBase = "localhost:5000/d8-base:bookworm";
    private Exception? _failure;

    /// <summary>What the build printed (progress lines), for diagnosing a failure.</summary>
    public string BuildLog { get; private set; } = "";

    /// <summary>How long the image builds took.</summary>
    public TimeSpan BuildDuration { get; private set; }

    /// <summary>Local tag of the arm64 worker image.</summary>
    public static string Arm64WorkerImage => $"d8-worker:{Cli.Images.ImagePlan.LocalTag(Tag, "arm64")}";

    public async ValueTask InitializeAsync()
    {
        if (await DockerEngine.ProblemAsync() is not null) return;
        var watch = Stopwatch.StartNew();
        var previous = await ImageIdsAsync();
        try
        {
            var baseImage = Environment.GetEnvironmentVariable("D8_TEST_BASE_IMAGE") is { Length: > 0 } b ? b : await LocalBaseAsync();
            string[] common = ["--to", "local", "--tag", Tag, "--source", RepositoryRoot, .. baseImage is null ? Array.Empty<string>() : ["--base-image", baseImage]];
            await RunCliAsync(["images", "--with-emulators", .. common]);
            if (Cli.Images.ImagePlan.HostArchitecture != "arm64")
            {
                await RunCliAsync(["images", "--only", "worker", "--arch", "arm64", .. common]);
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
        BuildDuration = watch.Elapsed;
        // The previous run's images lost their tags to this run's: remove them (only ours), so runs do not pile up.
        var current = await ImageIdsAsync();
        foreach (var id in previous.Except(current))
        {
            await Shell.RunAsync("docker", ["rmi", id], TimeSpan.FromMinutes(1));
        }
    }

    private static async Task<IReadOnlyList<string>> ImageIdsAsync()
    {
        var ids = new List<string>();
        foreach (var repository in new[] { "d8-orchestrator", "d8-worker", "d8-emulators" })
        {
            var result = await Shell.RunAsync("docker", ["images", "-q", "--no-trunc", $"{repository}:{Tag}*"], TimeSpan.FromSeconds(30));
            ids.AddRange(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        return ids.Distinct().ToList();
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Skips or fails (see <see cref="DockerEngine"/>) without an engine; fails when the build failed.</summary>
    public async Task RequireAsync()
    {
        await DockerEngine.RequireAsync();
        if (_failure is not null) Assert.Fail($"d8 images failed: {_failure.Message}\n{BuildLog}");
    }

    /// <summary>Repository root (the folder holding D8.sln).</summary>
    public static string RepositoryRoot => D8.Tests.Infrastructure.Repository.Root;

    /// <summary>Runs `d8 images` with the test tag, source and base image plus <paramref name="args"/>.</summary>
    public async Task RunImagesAsync(string[] args, string tag = Tag)
    {
        var baseImage = Environment.GetEnvironmentVariable("D8_TEST_BASE_IMAGE") is { Length: > 0 } b ? b : await LocalBaseAsync();
        await RunCliAsync(["images", "--tag", tag, "--source", RepositoryRoot, .. baseImage is null ? Array.Empty<string>() : ["--base-image", baseImage], .. args]);
    }

    private async Task RunCliAsync(string[] args)
    {
        using var output = new StringWriter();
        var process = CliEnvironment.FromProcess();
        var env = new CliEnvironment
        {
            Variables = process.Variables,
            WorkingDirectory = RepositoryRoot,
            HomeDirectory = process.HomeDirectory,
            System = process.System,
        };
        var code = await CliApp.RunAsync(args, output, output, env);
        BuildLog += output.ToString();
        if (code != 0) throw new InvalidOperationException($"d8 {string.Join(' ', args)} exited {code}");
    }

    private static async Task<string?> LocalBaseAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(HttpMethod.Head, "http://127.0.0.1:5000/v2/d8-base/manifests/bookworm");
        request.Headers.Accept.ParseAdd("application/vnd.docker.distribution.manifest.list.v2+json");
        try
        {
            using var response = await http.SendAsync(request);
            return response.IsSuccessStatusCode ? LocalBase : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
