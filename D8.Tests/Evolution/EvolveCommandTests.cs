using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;
using D8.Tests.Worker;
using Xunit.Abstractions;

namespace D8.Tests.Evolution;

/// <summary>`d8 evolve …` against a real orchestrator; the example spec of docs/evolution.md on an emulated fleet.</summary>
public sealed class EvolveCommandTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_readme_example_spec_runs_on_the_fleet_and_improves_and_every_subcommand_answers()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi" });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output);
        fleet.StartWorker("pi-1", "ollama", ollama.BaseUrl, new Dictionary<string, string?> { ["D8_CONCURRENCY"] = "4" });
        fleet.StartWorker("groq-1", "groq", groq.BaseUrl + "/openai/v1", new Dictionary<string, string?> { ["D8_RPM"] = "0", ["D8_TPM"] = "0", ["D8_RPD"] = "0" });
        await fleet.WaitForWorkerAsync("pi-1");
        await fleet.WaitForWorkerAsync("groq-1");
        using var cli = new CliRun();
        cli.Variables["D8_ORCHESTRATOR_URL"] = fleet.BaseUrl.AbsoluteUri;
        cli.Variables["D8_API_KEY"] = fleet.ApiKey;

        var run = await cli.RunAsync("evolve", "run", Path.Combine(AppPaths.RepoRoot, "docs", "evolution-example.yaml"), "--interval", "0.2");
        output.WriteLine(run.ToString());

        Assert.Equal(0, run.ExitCode);
        var id = run.Out.Split('\n')[0].Trim();
        Assert.StartsWith("evo_", id);
        Assert.Contains("completed · generation 6/6", run.Out);
        Assert.Contains("best fitness by generation", run.Out);
        var view = await fleet.Client.GetEvolutionAsync(id);
        Assert.True(view.History[^1].Best > view.History[0].Best, "the example improves on the emulated fleet");
        Assert.Contains(view.Best!.Prompt!, run.Out);

        var status = await cli.RunAsync("evolve", "status", id);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("diversity", status.Out);
        var best = await cli.RunAsync("evolve", "best", id);
        Assert.Equal(view.Best.Prompt, best.Out.Trim());
        var lineage = await cli.RunAsync("evolve", "lineage", id);
        var parsed = System.Text.Json.JsonSerializer.Deserialize(lineage.Out, D8JsonContext.Default.LineageView)!;
        Assert.Equal(48, parsed.Genomes.Count);
        var list = await cli.RunAsync("evolve", "list");
        Assert.Contains(id, list.Out);
        var stop = await cli.RunAsync("evolve", "stop", id);
        Assert.Equal(1, stop.ExitCode);
        Assert.Contains("409", stop.Err);
    }
}

/// <summary>`d8 evolve run` with a bad spec: the CLI prints every problem the orchestrator listed (nothing is stored,
/// so the class shares one orchestrator).</summary>
public sealed class EvolveCommandSpecTests(CliOrchestrator shared) : SharedCliOrchestratorTests(shared)
{
    [Fact]
    public async Task A_refused_spec_prints_every_problem_and_exits_2()
    {
        File.WriteAllText(Cli.PathOf("bad.yaml"), """
            seed_prompts: []
            population_size: 1
            cases:
              - input: hi
                checker: { type: contains }
            budget: { max_tasks: 0 }
            """);
        var result = await Cli.RunAsync("evolve", "run", "bad.yaml");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("seed_prompts: give at least one seed prompt.", result.Err);
        Assert.Contains("population_size:", result.Err);
        Assert.Contains("cases[0].checker.expected:", result.Err);
        Assert.Contains("budget.max_tasks:", result.Err);
    }

    [Fact]
    public async Task A_spec_that_is_not_yaml_or_has_a_wrong_type_is_named_with_its_place()
    {
        File.WriteAllText(Cli.PathOf("broken.yaml"), "seed_prompts: [unclosed\n");
        var broken = await Cli.RunAsync("evolve", "run", "broken.yaml");
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("not valid YAML at line", broken.Err);

        File.WriteAllText(Cli.PathOf("typed.yaml"), "population_size: many\n");
        var typed = await Cli.RunAsync("evolve", "run", "typed.yaml");
        Assert.Equal(1, typed.ExitCode);
        Assert.Contains("population_size", typed.Err);
    }
}
