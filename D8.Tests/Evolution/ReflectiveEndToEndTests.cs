using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Worker;
using Xunit.Abstractions;

namespace D8.Tests.Evolution;

/// <summary>
/// Reflective mutation and Pareto selection on a real fleet (orchestrator and worker processes, the emulators as
/// providers), on the landscapes of <see cref="Landscapes"/>.
/// </summary>
public sealed class ReflectiveEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Where_feedback_shows_the_expected_value_reflection_reaches_the_ga_s_best_with_fewer_tasks_and_where_it_is_hidden_it_still_runs()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi" });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output);
        await EvolutionEndToEndTests.StartWorkersAsync(fleet, ollama, groq);

        var visible = Landscapes.Visible(seed: 5, generations: 5, maxTasks: 100_000);
        var ga = await RunAsync(fleet.Client, Landscapes.Ga(visible));
        var reflective = await RunAsync(fleet.Client, Landscapes.Reflective(visible));
        Assert.Equal(EvolutionState.Completed, ga.View.State);
        Assert.Equal(EvolutionState.Completed, reflective.View.State);
        var target = ga.View.Best!.Fitness!.Value;
        var gaTasks = Landscapes.TasksToReach(ga.Lineage, target)!.Value;
        var reflectiveTasks = Landscapes.TasksToReach(reflective.Lineage, target);
        output.WriteLine($"visible: ga best {target} after {gaTasks} tasks; reflective best {reflective.View.Best!.Fitness} reached {target} after {reflectiveTasks} tasks");
        Assert.Equal(1.0, reflective.View.Best!.Fitness);
        Assert.NotNull(reflectiveTasks);
        Assert.True(reflectiveTasks * 2 <= gaTasks, $"reflective needs at most half the GA's tasks ({reflectiveTasks} vs {gaTasks})");

        // The lineage says what each reflection was shown and where merges came from; the status has the front.
        Assert.Equal("pareto", reflective.View.Selection);
        Assert.InRange(reflective.View.FrontSize!.Value, 1, 8);
        Assert.Null(ga.View.FrontSize);
        var reflected = reflective.Lineage.Genomes.Where(g => g.Operator == "reflect").ToList();
        Assert.NotEmpty(reflected);
        Assert.All(reflected.Where(g => g.ReflectedCases is not null), g => Assert.InRange(g.ReflectedCases!.Count, 0, 3)); // none once the parent passes every case
        Assert.Contains(reflected, g => g.ReflectedCases is { Count: > 0 });
        Assert.All(reflective.Lineage.Genomes.Where(g => g.Operator == "merge"), g => Assert.Equal(2, g.Parents.Count));
        Assert.All(reflective.Lineage.Genomes, g => Assert.NotNull(g.TasksAtFitness));
        Assert.DoesNotContain(ga.Lineage.Genomes, g => g.Operator is "reflect" or "merge");

        // Hidden: the judge's reason never names the word, so a reflection is no better than a blind mutation; the run
        // still climbs (blind words), every genome is scored, and nothing crashes on judge feedback.
        var hidden = Landscapes.Hidden(seed: 5, generations: 3, maxTasks: 100_000);
        var blind = await RunAsync(fleet.Client, Landscapes.Reflective(hidden));
        Assert.Equal(EvolutionState.Completed, blind.View.State);
        Assert.All(blind.Lineage.Genomes, g => Assert.NotNull(g.Fitness));
        Assert.True(blind.View.Best!.Fitness >= blind.View.History[0].Best);
        var judgeCalls = EvolutionEndToEndTests.ChatCalls(groq).Count(c => c.Contains("Score the answer", StringComparison.Ordinal));
        Assert.True(judgeCalls > 0, "hidden cases are judged");
    }

    [Fact]
    public async Task Kill_9_of_the_orchestrator_mid_pareto_run_resumes_without_running_any_task_twice()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi", TokenDelay = TimeSpan.FromMilliseconds(15) });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey, TokenDelay = TimeSpan.FromMilliseconds(15) });
        await using var fleet = await WorkerFleet.StartAsync(output);
        await EvolutionEndToEndTests.StartWorkersAsync(fleet, ollama, groq);

        var spec = Landscapes.Visible(seed: 13, generations: 4, maxTasks: 100_000) with
        {
            Selection = "pareto",
            MutationOperators = ["reflect", "add_constraint"],
            CrossoverRate = 0.5,
            MinibatchSize = 3,
        };
        var submitted = await fleet.Client.SubmitEvolutionAsync(spec);
        // Mid-run: the first operator task of generation 2 has reached the model.
        await ollama.WaitForRequestAsync(r => r.Path == "/api/chat" && r.Body.Contains("Variant: g2s", StringComparison.Ordinal), RunTimeout);
        await fleet.Orchestrator!.KillAsync();
        await fleet.StartOrchestratorAsync();

        var done = await EvolutionSpecs.WaitForEndAsync(fleet.Client, submitted.Id, RunTimeout);
        Assert.Equal(EvolutionState.Completed, done.State);
        var calls = EvolutionEndToEndTests.ChatCalls(ollama).Concat(EvolutionEndToEndTests.ChatCalls(groq)).ToList();
        var tasks = (await fleet.Client.ListTasksAsync(limit: 1000)).Items;
        Assert.Equal(done.TasksSubmitted, tasks.Count);
        Assert.Equal(tasks.Count, calls.Count);
        Assert.All(tasks, t => Assert.Equal(1, t.Attempts));
        Assert.Equal(calls.Count, calls.Distinct().Count());
        var lineage = await fleet.Client.GetLineageAsync(submitted.Id);
        Assert.All(lineage.Genomes, x => Assert.NotNull(x.Fitness));
        Assert.Contains(lineage.Genomes, x => x.Operator == "reflect" && x.ReflectedCases is { Count: > 0 });
        Assert.Contains(lineage.Genomes, x => x.MinibatchScore is not null);
    }

    private static async Task<(EvolutionView View, LineageView Lineage)> RunAsync(OrchestratorClient client, EvolutionSpec spec)
    {
        var submitted = await client.SubmitEvolutionAsync(spec);
        var view = await EvolutionSpecs.WaitForEndAsync(client, submitted.Id, RunTimeout);
        return (view, await client.GetLineageAsync(submitted.Id));
    }
}
