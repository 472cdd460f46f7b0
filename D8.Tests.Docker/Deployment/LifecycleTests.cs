using D8.Contracts;
using D8.Tests.Docker.Infrastructure;

namespace D8.Tests.Docker.Deployment;

/// <summary>Stopping, killing and restarting containers loses no task.</summary>
[Collection("docker")]
public sealed class LifecycleTests(TestImages images)
{
    /// <summary>Slowed-down answers (12 tokens × delay) so a task is still running when the test acts.</summary>
    private static readonly Dictionary<string, string> SlowTokens = new() { ["D8_EMULATOR_TOKEN_DELAY_MS"] = "1000" };

    [Fact]
    public async Task Compose_stop_lets_the_worker_finish_its_task_and_deregister()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create(SlowTokens);
        string[] profiles = ["orchestrator", "worker-groq"];
        await project.UpAsync(profiles);
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator", "worker-groq");
        var id = await project.SubmitAsync("a slow task");
        await WaitLeasedAsync(project, id);

        // `stop` signals every service at once: the orchestrator keeps serving until the worker has reported and left.
        await project.ComposeAsync(profiles, "stop", "-t", "60");
        var workerLog = await project.LogsAsync("worker-groq");
        var state = await project.ComposeAsync(profiles, "ps");
        Assert.True(workerLog.Contains("Deregistered from the orchestrator", StringComparison.Ordinal), state + workerLog + await project.LogsAsync("orchestrator"));
        Assert.DoesNotContain("Connection refused", workerLog, StringComparison.Ordinal);

        await project.ComposeAsync(profiles, "start", "orchestrator");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator");
        var task = await project.Client.GetTaskAsync(id, ct: TestContext.Current.CancellationToken);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(1, task.Attempts);
        var gone = Assert.Single(await project.Client.GetWorkersAsync(TestContext.Current.CancellationToken));
        Assert.Equal(WorkerState.Gone, gone.State);
    }

    [Fact]
    public async Task Killing_a_worker_mid_task_loses_nothing()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create(SlowTokens);
        await project.UpAsync("orchestrator", "worker-groq", "worker-gemini");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator", "worker-groq", "worker-gemini");
        var id = await project.SubmitAsync("a task that outlives its worker");
        var leased = await WaitLeasedAsync(project, id);
        var victim = (await project.Client.GetWorkersAsync(TestContext.Current.CancellationToken)).Single(w => w.Id == leased.LeasedBy);

        await project.KillAsync("worker-" + victim.Provider);

        var task = await project.WaitTerminalAsync(id, Timeouts.TaskAfterWorkerLoss);
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.NotEqual(victim.Id, task.Result!.WorkerId);
        // Recorded once: one task, one result, the lost attempt counted.
        var all = await project.Client.ListTasksAsync(ct: TestContext.Current.CancellationToken);
        Assert.Single(all.Items, t => t.Id == id);
        Assert.Equal(2, task.Attempts);
    }

    [Fact]
    public async Task Orchestrator_killed_and_restarted_keeps_every_acknowledged_task()
    {
        await images.RequireAsync();
        await using var project = ComposeProject.Create();
        await project.UpAsync("orchestrator");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await project.SubmitAsync($"acknowledged task {i}"));

        await project.KillAsync("orchestrator");
        await project.ComposeAsync(["orchestrator"], "start", "orchestrator");
        await project.WaitHealthyAsync(Timeouts.Healthy, "orchestrator");
        foreach (var id in ids)
        {
            Assert.Equal(TaskState.Queued, (await project.Client.GetTaskAsync(id, ct: TestContext.Current.CancellationToken)).State);
        }

        await project.UpAsync("orchestrator", "worker-groq");
        foreach (var id in ids)
        {
            Assert.Equal(TaskState.Succeeded, (await project.WaitTerminalAsync(id, Timeouts.Task)).State);
        }
    }

    private static Task<TaskView> WaitLeasedAsync(ComposeProject project, string id) =>
        Poll.UntilAsync<TaskView>(async ct =>
        {
            var task = await project.Client.GetTaskAsync(id, ct: ct);
            return (task.LeasedBy is not null && task.State == TaskState.Leased ? task : null, task.State.ToString());
        }, Timeouts.Task, $"task {id} to be leased", TestContext.Current.CancellationToken);
}
