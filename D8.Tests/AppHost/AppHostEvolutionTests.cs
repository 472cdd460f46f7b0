using Aspire.Hosting.Testing;
using D8.Cli.Evolve;
using D8.Contracts;
using D8.Tests.Evolution;
using D8.Tests.Infrastructure;

namespace D8.Tests.AppHost;

/// <summary>The example evolution of docs/evolution.md on the fleet the AppHost starts (providers emulated).</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostEvolutionTests(AppHostFixture fixture)
{
    [Fact]
    public async Task The_readme_example_spec_improves_on_the_apphost_fleet()
    {
        var spec = SpecFile.Parse(await File.ReadAllTextAsync(Path.Combine(AppPaths.RepoRoot, "docs", "evolution-example.yaml")), "example");
        var client = new OrchestratorClient(fixture.App.CreateHttpClient("orchestrator", "http")) { ApiKey = AppHostFixture.ApiKey };

        var submitted = await client.SubmitEvolutionAsync(spec);
        var done = await EvolutionSpecs.WaitForEndAsync(client, submitted.Id, TimeSpan.FromMinutes(3));

        Assert.Equal(EvolutionState.Completed, done.State);
        Assert.True(done.History[^1].Best > done.History[0].Best, "best fitness improves over the generations");
        var tasks = (await client.ListTasksAsync(limit: 1000)).Items.Where(t => t.Labels?.GetValueOrDefault("evolution") == submitted.Id).ToList();
        Assert.All(tasks.Where(t => t.Kind is EvolutionTaskKinds.Mutate or EvolutionTaskKinds.Crossover), t => Assert.Equal("worker-deepseek", t.Result!.WorkerName));
        Assert.All(tasks.Where(t => t.Kind is EvolutionTaskKinds.Evaluate or EvolutionTaskKinds.Judge), t => Assert.Equal("worker-groq", t.Result!.WorkerName));
        Assert.Contains(tasks, t => t.Kind == EvolutionTaskKinds.Judge);

        // The dashboard row under the orchestrator shows the run.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var row = await fixture.App.ResourceNotifications.WaitForResourceAsync(D8.AppHost.Evolution.EvolutionLiveFigures.ResourceName,
            e => e.Snapshot.Properties.Any(p => p.Name == "d8.evolution.id" && Equals(p.Value, submitted.Id))
                 && e.Snapshot.State?.Text.StartsWith("completed", StringComparison.Ordinal) == true, cts.Token);
        Assert.Contains("gen 6 of 6", row.Snapshot.State!.Text);
    }
}
