using D8.Contracts.OpenAi;
using Xunit.Abstractions;

namespace D8.Tests.Batches;

/// <summary>A batch survives kill -9 of the orchestrator: it completes, each custom_id once, no request run twice.</summary>
public sealed class BatchDurabilityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kill_9_mid_batch_completes_with_each_custom_id_once_and_no_request_run_twice()
    {
        // 20 ms a token, 4 tokens: ~80 ms a request, 4 at a time, so the kill lands with most lines still to run.
        await using var fleet = await BatchFleet.StartAsync(output, tokenDelay: TimeSpan.FromMilliseconds(20), concurrency: 4);
        var ids = Enumerable.Range(1, 160).Select(i => $"k-{i}").ToList();
        var id = await fleet.SubmitAsync(ids.Select(c => BatchFleet.Line(c)));
        await fleet.Emulator.Requests.WaitForCountAsync(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal), 40, BatchFleet.Timeout);
        var before = await fleet.GetAsync(id);

        await fleet.Fleet.Orchestrator!.KillAsync();
        await fleet.Fleet.StartOrchestratorAsync();
        var done = await fleet.WaitForEndAsync(id);

        output.WriteLine($"before the kill: {before.RequestCounts}; after: {done.RequestCounts}");
        Assert.Equal(BatchStatus.InProgress, before.Status);
        Assert.True(before.RequestCounts.Completed < ids.Count, "the kill came mid-batch");
        Assert.Equal(BatchStatus.Completed, done.Status);
        Assert.Equal(new BatchRequestCounts(160, 160, 0), done.RequestCounts);
        var lines = await fleet.ReadLinesAsync(done.OutputFileId);
        Assert.Equal(ids.Order(), lines.Select(l => l.GetProperty("custom_id").GetString()!).Order());
        Assert.Null(done.ErrorFileId);
        // Every line reached the model exactly once: tasks in flight at the kill were re-attached by their keys.
        var calls = fleet.EmulatorCallsPerCustomId();
        Assert.Equal(ids.Order(), calls.Keys.Order());
        Assert.All(calls, c => Assert.True(c.Value == 1, $"{c.Key} ran {c.Value} times"));
    }
}
