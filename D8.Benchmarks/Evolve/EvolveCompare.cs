using System.Globalization;
using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Benchmarks.Dispatch;
using D8.Tests.Evolution;
using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Evolve;

/// <summary>
/// <c>evolve --compare</c>: the blind GA against reflective mutation with Pareto selection, at the same task budget,
/// on each emulator landscape (<see cref="Landscapes"/>): one where the feedback shows the expected values (reflection
/// can fix the prompt) and one where it hides them. Prints per landscape the best fitness each reached, and how many
/// tasks each needed to reach the GA's final fitness (T).
/// </summary>
internal static class EvolveCompare
{
    public static async Task<int> RunAsync(string[] args)
    {
        var budget = EvolveBenchmark.Arg(args, "--tasks", 300);
        var seed = EvolveBenchmark.Arg(args, "--seed", 42);
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi", TokenDelay = TimeSpan.FromMilliseconds(1) });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = EvolveBenchmark.Key, TokenDelay = TimeSpan.FromMilliseconds(1) });
        await using var orch = await OrchestratorProcess.StartAsync();
        var workers = new List<ProcessHost>
        {
            EvolveBenchmark.StartWorker(orch, "pi-1", "ollama", ollama.BaseUrl, 4),
            EvolveBenchmark.StartWorker(orch, "groq-1", "groq", groq.BaseUrl + "/openai/v1", 8),
        };
        try
        {
            using var http = new HttpClient { BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(90) };
            var client = new OrchestratorClient(http) { ApiKey = orch.ApiKey };
            await EvolveBenchmark.WaitForWorkersAsync(client, workers.Count);
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Console.WriteLine($"fleet: pi-1 (ollama emulator, operators) and groq-1 (OpenAI emulator, evaluation and judge); population 8, seed {seed}, budget {budget} tasks each");
            var goal = true;
            foreach (var (name, landscape) in new[] { ("visible", (Func<long, int, long, EvolutionSpec>)Landscapes.Visible), ("hidden", Landscapes.Hidden) })
            {
                var spec = landscape(seed, 1000 / 8, budget);
                var (ga, gaLineage) = await RunOneAsync(client, Landscapes.Ga(spec));
                var (reflective, reLineage) = await RunOneAsync(client, Landscapes.Reflective(spec));
                var a = ga.Best?.Fitness ?? 0;
                var b = reflective.Best?.Fitness ?? 0;
                var x = Landscapes.TasksToReach(gaLineage, a);
                var y = Landscapes.TasksToReach(reLineage, a);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"evolve: {name} ga best {a:0.000} at {ga.TasksSubmitted} tasks, reflective+pareto best {b:0.000} at {reflective.TasksSubmitted} tasks; " +
                    $"tasks to reach {a:0.000}: ga {x?.ToString(CultureInfo.InvariantCulture) ?? "never"}, reflective {y?.ToString(CultureInfo.InvariantCulture) ?? "never"}; cache hits {reflective.CacheHits}"));
                goal &= name == "visible" ? y is { } yy && x is { } xx && yy * 2 <= xx : b >= a;
            }
            Console.WriteLine(goal
                ? "goal met: reflective+pareto reaches the GA's final fitness with at most half its tasks where feedback helps, and no worse where it cannot"
                : "goal NOT met (see the lines above)");
            return goal ? 0 : 1;
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
        }
    }

    private static async Task<(EvolutionView View, LineageView Lineage)> RunOneAsync(OrchestratorClient client, EvolutionSpec spec)
    {
        var submitted = await client.SubmitEvolutionAsync(spec);
        EvolutionView view;
        do view = await client.GetEvolutionAsync(submitted.Id, TimeSpan.FromSeconds(30));
        while (view.State == EvolutionState.Running);
        return (view, await client.GetLineageAsync(submitted.Id));
    }
}
