using D8.Contracts;
using D8.Tests.Orchestrator;

namespace D8.Tests.Gateway;

/// <summary>A queued task says why it waits: nobody serves it, its workers are unhealthy (with status), busy, or out of budget.</summary>
[Trait("Category", "Unit")]
public sealed class WaitReasonTests
{
    [Fact]
    public async Task A_queued_task_names_why_it_waits_in_its_reason()
    {
        await using var h = new EngineHarness();
        var nobody = await h.SubmitAsync(model: "evo-model");
        Assert.Contains("no registered worker serves", (await h.GetAsync(nobody)).Reason);

        var worker = await h.RegisterAsync("ollama", ["evo-model"], concurrency: 1);
        await h.Engine.HeartbeatAsync(worker, new HeartbeatRequest { Healthy = false, Status = "model evo-model is not offered by 127.0.0.1" });
        var view = await h.GetAsync(nobody);
        Assert.False(view.Unroutable);
        Assert.Equal("waiting for a worker: its workers are unhealthy (ollama-worker: model evo-model is not offered by 127.0.0.1)", view.Reason);
        Assert.Equal(view.Reason, h.Engine.WaitReason(nobody));
        Assert.Equal(view.Reason, h.Engine.List(TaskState.Queued, 10, null).Items.Single(t => t.Id == nobody).Reason);

        await h.Engine.HeartbeatAsync(worker, new HeartbeatRequest { Healthy = true });
        await h.LeaseOneAsync(worker);
        var second = await h.SubmitAsync(model: "evo-model");
        Assert.Equal("waiting for a worker: its workers are busy (ollama-worker 1/1)", (await h.GetAsync(second)).Reason);

        await h.Engine.HeartbeatAsync(worker, new HeartbeatRequest { InFlight = 1, BudgetReadyAt = h.Time.GetUtcNow().AddMinutes(1) });
        Assert.Contains("out of budget (ollama-worker until 12:01:00Z)", (await h.GetAsync(second)).Reason);
    }
}
