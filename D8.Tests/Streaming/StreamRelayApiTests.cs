using System.Net;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Streaming;

/// <summary>POST /api/tasks/{id}/relay over HTTP: what it takes, and the problem details it answers otherwise.</summary>
public sealed class StreamRelayApiTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    private async Task<WorkerClient> WorkerAsync(string name)
    {
        var worker = await _orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = name, Provider = "ollama", Models = ["m"], MaxConcurrency = 2 });
        return worker;
    }

    private static async Task<HttpStatusCode> RefusalAsync(Func<Task> call) =>
        (await Assert.ThrowsAsync<OrchestratorException>(call)).Status;

    [Fact]
    public async Task The_current_lease_relays_in_order_and_everything_else_is_refused_with_a_problem()
    {
        var client = _orch.CreateClient();
        var a = await WorkerAsync("a");
        var b = await WorkerAsync("b");
        var plain = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "no stream" });
        var streamed = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "stream", Stream = true });
        var leases = await a.LeaseAsync(2, TimeSpan.FromSeconds(10));
        var lease = Assert.Single(leases, l => l.TaskId == streamed.Id);
        var plainLease = Assert.Single(leases, l => l.TaskId == plain.Id);
        Assert.True(lease.Stream);
        RelayRequest Piece(string text, long offset, string? leaseId = null) => new() { LeaseId = leaseId ?? lease.LeaseId, Offset = offset, Text = text };

        await a.RelayAsync(lease.TaskId, Piece("Hel", 0));
        await a.RelayAsync(lease.TaskId, Piece("lo", 3));

        Assert.Equal(HttpStatusCode.Conflict, await RefusalAsync(() => a.RelayAsync(lease.TaskId, Piece("lo", 3))));
        Assert.Equal(HttpStatusCode.Conflict, await RefusalAsync(() => a.RelayAsync(lease.TaskId, Piece("x", 5, "not-the-lease"))));
        Assert.Equal(HttpStatusCode.Forbidden, await RefusalAsync(() => b.RelayAsync(lease.TaskId, Piece("x", 5))));
        Assert.Equal(HttpStatusCode.NotFound, await RefusalAsync(() => a.RelayAsync("no-such-task", Piece("x", 0))));
        Assert.Equal(HttpStatusCode.Conflict, await RefusalAsync(() => a.RelayAsync(plain.Id, Piece("x", 0, plainLease.LeaseId))));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusalAsync(() => a.RelayAsync(lease.TaskId, Piece("", 5))));
        Assert.Equal(HttpStatusCode.BadRequest, await RefusalAsync(() =>
            a.RelayAsync(lease.TaskId, Piece(new string('x', RelayRequest.MaxTextChars + 1), 5))));

        await a.CompleteAsync(lease.TaskId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "Hello" });
        var late = await Assert.ThrowsAsync<OrchestratorException>(() => a.RelayAsync(lease.TaskId, Piece("!", 5)));
        Assert.Equal(HttpStatusCode.Conflict, late.Status);
        Assert.NotNull(late.Problem?.Detail);
    }
}
