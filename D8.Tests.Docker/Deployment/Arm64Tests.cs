using System.Diagnostics;
using D8.Contracts;
using D8.Tests.Docker.Infrastructure;

namespace D8.Tests.Docker.Deployment;

/// <summary>The Raspberry Pi image: the arm64 worker runs under qemu, joins the amd64 orchestrator and completes a task.</summary>
[Collection("docker")]
public sealed class Arm64Tests(TestImages images)
{
    [Fact]
    public async Task Arm64_worker_image_runs_under_emulation_joins_and_completes_a_task()
    {
        await images.RequireAsync();
        var arch = await Shell.RunAsync("docker", ["image", "inspect", "-f", "{{.Architecture}}", TestImages.Arm64WorkerImage], TimeSpan.FromSeconds(30), ct: TestContext.Current.CancellationToken);
        Assert.Equal("arm64", arch.Output.Trim());

        // qemu-user translates every instruction and caches the translations: the Pi's 256m does not fit under emulation.
        await using var project = ComposeProject.Create(new Dictionary<string, string> { ["GROQ_WORKER_MEMORY"] = "1g" }, extraOverride: $$"""
            services:
              worker-groq:
                image: "{{TestImages.Arm64WorkerImage}}"
                healthcheck:
                  # Its own health command, given time: under qemu the probe process alone starts in ≈ 7 s,
                  # so not every 3 s (the tests' timing override) either, or probes would occupy a core.
                  timeout: "60s"
                  interval: "10s"
            """);
        await project.UpAsync("orchestrator", "worker-groq");
        var started = Stopwatch.StartNew();
        var worker = await Poll.UntilAsync<WorkerView>(async ct =>
        {
            var workers = await project.Client.GetWorkersAsync(ct);
            return (workers.FirstOrDefault(w => w.State == WorkerState.Online), $"{workers.Count} worker(s)");
        }, Timeouts.HealthyArm64, "the arm64 worker to register", TestContext.Current.CancellationToken);
        TestContext.Current.TestOutputHelper?.WriteLine($"arm64 worker registered {started.Elapsed.TotalSeconds:F1} s after `up` returned (qemu)");
        Assert.Equal("Arm64", worker.Host?.Arch, ignoreCase: true);

        await project.WaitHealthyAsync(Timeouts.HealthyArm64, "orchestrator", "worker-groq");
        TestContext.Current.TestOutputHelper?.WriteLine($"arm64 worker healthy {started.Elapsed.TotalSeconds:F1} s after `up` returned");
        var task = await project.WaitTerminalAsync(await project.SubmitAsync("a task for the Pi image", "groq"), Timeouts.Task);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(worker.Id, task.Result!.WorkerId);
    }
}
