using System.Text.Json;
using D8.Contracts.OpenAi;
using D8.Tests.Cli;
using Xunit.Abstractions;

namespace D8.Tests.Batches;

/// <summary><c>d8 batch submit|status|list|cancel|results</c> against a real orchestrator, worker and emulator.</summary>
public sealed class BatchCommandTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Submit_wait_then_status_list_results_and_cancel_of_an_ended_batch()
    {
        await using var fleet = await BatchFleet.StartAsync(output);
        using var cli = new CliRun();
        cli.Variables["D8_ORCHESTRATOR_URL"] = fleet.Fleet.BaseUrl.AbsoluteUri;
        cli.Variables["D8_API_KEY"] = fleet.Fleet.ApiKey;
        var lines = Enumerable.Range(1, 5).Select(i => BatchFleet.Line($"cli-{i}")).Append(BatchFleet.Line("cli-bad", model: "nope"));
        await File.WriteAllLinesAsync(cli.PathOf("requests.jsonl"), lines);

        var submit = await cli.RunAsync("batch", "submit", "requests.jsonl", "--wait", "--interval", "0.2", "--metadata", "team=docs");

        Assert.True(submit.ExitCode == 0, submit.ToString());
        var id = submit.Err.Split('\n')[0].Trim();
        Assert.StartsWith("batch_", id);
        Assert.Contains($"{id} completed: 5/6 completed, 1 failed", submit.Out);
        Assert.Contains($"d8 batch results {id} --errors", submit.Out);

        var status = await cli.RunAsync("batch", "status", id, "--json");
        var batch = JsonSerializer.Deserialize(status.Out, BatchWireContext.Default.OpenAiBatch)!;
        Assert.Equal("docs", batch.Metadata!["team"]);
        Assert.Contains(id, (await cli.RunAsync("batch", "list")).Out);

        var results = await cli.RunAsync("batch", "results", id);
        Assert.Equal(5, results.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var errors = await cli.RunAsync("batch", "results", id, "--errors", "-o", "errors.jsonl");
        Assert.True(errors.ExitCode == 0, errors.ToString());
        Assert.Contains("model_not_found", await File.ReadAllTextAsync(cli.PathOf("errors.jsonl")));

        var cancel = await cli.RunAsync("batch", "cancel", id);
        Assert.Equal(1, cancel.ExitCode);
        Assert.Contains("orchestrator answered 409", cancel.Err);
        var unknown = await cli.RunAsync("batch", "status", "batch_nope");
        Assert.Contains("orchestrator answered 404: No such Batch object: batch_nope", unknown.Err);
    }
}
