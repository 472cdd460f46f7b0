using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>The happy path over real HTTP with the typed client: submit, lease, complete, get.</summary>
[Trait("Category", "Unit")]
public class TaskLifecycleApiTests : StoreTests
{
    private static RegisterWorkerRequest Worker(string provider = "ollama", params string[] models) => new()
    {
        Name = "test-worker",
        Provider = provider,
        Models = models.Length > 0 ? models : ["deepseek-coder:1.3b"],
        MaxConcurrency = 4,
    };

    [StoreFact]
    public async Task Submitted_task_is_leased_completed_and_readable_with_its_result()
    {
        await using var orch = await InProcessOrchestrator.StartAsync(Store.Apply());
        var client = orch.CreateClient();
        var worker = await orch.CreateClient().RegisterWorkerAsync(Worker());

        var submitted = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "hello", System = "be brief", Temperature = 0.2 });
        Assert.Equal(TaskState.Queued, submitted.State);
        Assert.False(submitted.Duplicate);
        Assert.Equal($"/api/tasks/{submitted.Id}", submitted.Location);

        var leases = await worker.LeaseAsync(4, TimeSpan.FromSeconds(10));
        var lease = Assert.Single(leases);
        Assert.Equal(submitted.Id, lease.TaskId);
        Assert.Equal(1, lease.Attempt);
        Assert.Equal(["system", "user"], lease.Messages.Select(m => m.Role));

        await worker.CompleteAsync(lease.TaskId, new CompleteTaskRequest
        {
            LeaseId = lease.LeaseId, Content = "hi!", Usage = new TokenUsage(5, 2, 7),
        });

        var view = await client.GetTaskAsync(submitted.Id);
        Assert.Equal(TaskState.Succeeded, view.State);
        Assert.Equal("hi!", view.Result!.Content);
        Assert.Equal(worker.Id, view.Result.WorkerId);
        var stats = await client.GetStatsAsync();
        Assert.Equal(1, stats.Tasks["succeeded"]);
        Assert.Equal(7, stats.TokensReported);
        var fleet = await client.GetWorkersAsync();
        Assert.Equal(1, Assert.Single(fleet).TasksSucceeded);
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresTaskLifecycleApiTests : TaskLifecycleApiTests, IPostgresStoreTests;
