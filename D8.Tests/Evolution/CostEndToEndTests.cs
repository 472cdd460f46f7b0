using System.Net;
using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Cli;
using D8.Tests.Worker;
using Xunit.Abstractions;

namespace D8.Tests.Evolution;

/// <summary>
/// Tokens per evaluation on a real fleet (orchestrator and worker processes, the emulators reporting usage):
/// recorded from the evaluation tasks' usage, reused with cache hits, and the pick under a token cap through the
/// API and <c>d8 evolve best --max-tokens</c>.
/// </summary>
public sealed class CostEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Tokens_per_evaluation_come_from_the_tasks_usage_survive_cache_hits_and_pick_under_a_cap()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi" });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output);
        await EvolutionEndToEndTests.StartWorkersAsync(fleet, ollama, groq);

        var spec = Landscapes.Reflective(Landscapes.Visible(seed: 7, generations: 3, maxTasks: 100_000)) with { Objectives = ["fitness", "tokens"] };
        var first = await fleet.Client.SubmitEvolutionAsync(spec);
        var view = await EvolutionSpecs.WaitForEndAsync(fleet.Client, first.Id, RunTimeout);
        Assert.Equal(EvolutionState.Completed, view.State);
        var lineage = await fleet.Client.GetLineageAsync(first.Id);
        Assert.All(lineage.Genomes, g => Assert.True(g.TokensPerEvaluation > 0, $"{g.Id} has tokens per evaluation"));
        Assert.Equal(view.Best!.TokensPerEvaluation, view.History.Single(h => h.BestGenomeId == view.Best.Id).BestTokensPerEvaluation);
        Assert.NotNull(view.FrontSize);

        // A genome that ran all of its own evaluation tasks: its tokens are exactly their usage.
        var tasks = (await fleet.Client.ListTasksAsync(limit: 1000)).Items;
        var byGenome = tasks.Where(t => t.IdempotencyKey?.Contains(":eval:", StringComparison.Ordinal) == true)
            .GroupBy(t => t.IdempotencyKey![..t.IdempotencyKey!.IndexOf(":eval:", StringComparison.Ordinal)]).ToDictionary(g => g.Key, g => g.ToList());
        var checkedGenomes = 0;
        foreach (var g in lineage.Genomes)
        {
            if (!byGenome.TryGetValue($"evo:{first.Id}:{g.Id}", out var own) || own.Count != spec.Cases!.Count) continue;
            Assert.Equal(own.Sum(t => TokenTotals.Of(t.Result?.Usage)), g.TokensPerEvaluation);
            checkedGenomes++;
        }
        output.WriteLine($"{checkedGenomes} genomes checked against their tasks' usage; best {view.Best.Fitness} at {view.Best.TokensPerEvaluation} tokens");
        Assert.True(checkedGenomes > 0);

        // The same spec again: its evaluations come from the cache, with the tokens they cost the first time.
        var second = await fleet.Client.SubmitEvolutionAsync(spec);
        var again = await EvolutionSpecs.WaitForEndAsync(fleet.Client, second.Id, RunTimeout);
        Assert.True(again.CacheHits > 0);
        var tokensByPrompt = lineage.Genomes.GroupBy(g => g.Prompt!).ToDictionary(g => g.Key, g => g.First().TokensPerEvaluation);
        var secondLineage = await fleet.Client.GetLineageAsync(second.Id);
        Assert.All(secondLineage.Genomes.Where(g => tokensByPrompt.ContainsKey(g.Prompt!)), g => Assert.Equal(tokensByPrompt[g.Prompt!], g.TokensPerEvaluation));

        // The pick: no cap is the best; a cap at the front's cheapest picks it (or one as cheap); below it, 404 naming it.
        var uncapped = await fleet.Client.GetBestGenomeAsync(first.Id, long.MaxValue);
        Assert.Equal(view.Best.Fitness, uncapped.Fitness);
        Assert.True(uncapped.TokensPerEvaluation <= view.Best.TokensPerEvaluation);
        var cheapest = lineage.Genomes.Min(g => g.TokensPerEvaluation!.Value);
        var capped = await fleet.Client.GetBestGenomeAsync(first.Id, cheapest);
        Assert.Equal(cheapest, capped.TokensPerEvaluation);
        var none = await Assert.ThrowsAsync<OrchestratorException>(() => fleet.Client.GetBestGenomeAsync(first.Id, cheapest - 1));
        Assert.Equal(HttpStatusCode.NotFound, none.Status);
        Assert.Contains($"costs {cheapest}", none.Problem!.Detail);

        using var cli = new CliRun();
        cli.Variables["D8_ORCHESTRATOR_URL"] = fleet.BaseUrl.AbsoluteUri;
        cli.Variables["D8_API_KEY"] = fleet.ApiKey;
        var best = await cli.RunAsync("evolve", "best", first.Id, "--max-tokens", cheapest.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, best.ExitCode);
        Assert.Equal(capped.Prompt, best.Out.Trim());
        Assert.Contains($"{cheapest} tokens/evaluation", best.Err);
        var bad = await cli.RunAsync("evolve", "best", first.Id, "--max-tokens", "0");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("400", bad.Err);
        var status = await cli.RunAsync("evolve", "status", first.Id);
        Assert.Contains("tokens/evaluation", status.Out);
    }
}
