using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using D8.Benchmarks.Dispatch;
using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Evolve;

/// <summary>
/// An evolution run on a 3-worker emulated fleet (orchestrator and workers as processes): operator and evaluation
/// tasks per second, and the share of the run during which the whole fleet is idle (no task running on any worker),
/// which a generation barrier would make grow with every generation.
/// </summary>
internal static class EvolveBenchmark
{
    internal const string Key = "bench-provider-key";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--compare")) return await EvolveCompare.RunAsync(args);
        var population = Arg(args, "--population", 16);
        var generations = Arg(args, "--generations", 8);
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi", TokenDelay = TimeSpan.FromMilliseconds(4) });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = Key, TokenDelay = TimeSpan.FromMilliseconds(2) });
        await using var orch = await OrchestratorProcess.StartAsync();
        var workers = new List<ProcessHost>
        {
            StartWorker(orch, "pi-1", "ollama", ollama.BaseUrl, 2),
            StartWorker(orch, "groq-1", "groq", groq.BaseUrl + "/openai/v1", 4),
            StartWorker(orch, "groq-2", "groq", groq.BaseUrl + "/openai/v1", 4),
        };
        try
        {
            using var http = new HttpClient { BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(90) };
            var client = new OrchestratorClient(http) { ApiKey = orch.ApiKey };
            await WaitForWorkersAsync(client, workers.Count);

            var spec = Spec(population, generations);
            var clock = Stopwatch.StartNew();
            var submitted = await client.SubmitEvolutionAsync(spec);
            EvolutionView view;
            do view = await client.GetEvolutionAsync(submitted.Id, TimeSpan.FromSeconds(30));
            while (view.State == EvolutionState.Running);
            var wall = clock.Elapsed;

            var tasks = await AllTasksAsync(client);
            Report(view, tasks, wall, population, generations);
            return view.State == EvolutionState.Completed ? 0 : 1;
        }
        finally
        {
            foreach (var w in workers) await w.DisposeAsync();
        }
    }

    /// <summary>Waits until <paramref name="count"/> workers are online and healthy (a readiness poll, before anything is measured).</summary>
    internal static async Task WaitForWorkersAsync(OrchestratorClient client, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await client.GetWorkersAsync()).Count(w => w.Healthy && w.State == WorkerState.Online) < count)
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException("the workers did not become ready");
            await Task.Delay(100);
        }
    }

    private static void Report(EvolutionView view, IReadOnlyList<TaskView> tasks, TimeSpan wall, int population, int generations)
    {
        var operators = tasks.Count(t => t.Kind is EvolutionTaskKinds.Mutate or EvolutionTaskKinds.Crossover);
        var evaluations = tasks.Count(t => t.Kind == EvolutionTaskKinds.Evaluate);
        // Each task's run on its worker: [finished - duration, finished].
        var runs = tasks.Where(t => t.Result?.DurationMs is not null)
            .Select(t => (Start: t.UpdatedAt - TimeSpan.FromMilliseconds(t.Result!.DurationMs!.Value), End: t.UpdatedAt))
            .OrderBy(r => r.Start).ToList();
        var first = tasks.Min(t => t.CreatedAt);
        var last = tasks.Max(t => t.UpdatedAt);
        var span = last - first;
        var busy = Union(runs);
        var idle = span - busy;
        var slotTime = runs.Sum(r => (r.End - r.Start).TotalMilliseconds);
        var overlaps = new List<double>();
        for (var g = 1; g < generations; g++)
        {
            var label = g.ToString(CultureInfo.InvariantCulture);
            var previous = (g - 1).ToString(CultureInfo.InvariantCulture);
            var start = tasks.Where(t => t.Labels?["generation"] == label).Select(t => t.CreatedAt).DefaultIfEmpty().Min();
            var end = tasks.Where(t => t.Labels?["generation"] == previous).Select(t => t.UpdatedAt).DefaultIfEmpty().Max();
            if (start != default && end != default) overlaps.Add((end - start).TotalMilliseconds);
        }
        overlaps.Sort();

        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine("fleet: 3 worker processes, 10 slots (pi-1 ollama emulator 2 slots 4 ms/token; groq-1, groq-2 OpenAI emulator 4 slots each 2 ms/token)");
        Console.WriteLine($"spec: population {population}, generations {generations}, 4 contains cases, elites 2, tournament 3, seed 42");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"run {EvolutionStateNames.Of(view.State)} in {wall.TotalSeconds:F2} s (first task to last result {span.TotalSeconds:F2} s): {tasks.Count} tasks = {operators} operator + {evaluations} evaluation"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"throughput: {tasks.Count / span.TotalSeconds:F1} tasks/s ({operators / span.TotalSeconds:F1} operator/s, {evaluations / span.TotalSeconds:F1} evaluation/s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fleet idle (no task running on any worker) during the run: {idle.TotalMilliseconds:F0} ms = {100 * idle / span:F1} % (goal < 10 %)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"slot utilisation: {100 * slotTime / (10 * span.TotalMilliseconds):F1} % of 10 slots"));
        if (overlaps.Count > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"generation overlap: generation g+1's first task starts {overlaps[overlaps.Count / 2]:F0} ms (median; min {overlaps[0]:F0}, max {overlaps[^1]:F0}) before generation g's last task ends"));
        }
        Console.WriteLine("best fitness by generation: " + string.Join(" ", view.History.Select(h => h.Best?.ToString("0.00", CultureInfo.InvariantCulture) ?? "-")));
    }

    /// <summary>Total length covered by the (start-sorted) intervals.</summary>
    private static TimeSpan Union(List<(DateTimeOffset Start, DateTimeOffset End)> runs)
    {
        var total = TimeSpan.Zero;
        DateTimeOffset? s = null, e = null;
        foreach (var r in runs)
        {
            if (s is null || r.Start > e)
            {
                if (s is not null) total += e!.Value - s.Value;
                (s, e) = (r.Start, r.End);
            }
            else if (r.End > e) e = r.End;
        }
        if (s is not null) total += e!.Value - s.Value;
        return total;
    }

    private static async Task<List<TaskView>> AllTasksAsync(OrchestratorClient client)
    {
        var all = new List<TaskView>();
        string? cursor = null;
        do
        {
            var page = await client.ListTasksAsync(limit: 1000, cursor: cursor);
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return all;
    }

    private static EvolutionSpec Spec(int population, int generations)
    {
        static JsonElement Text(string s)
        {
            using var doc = JsonDocument.Parse("\"" + s + "\"");
            return doc.RootElement.Clone();
        }
        return new EvolutionSpec
        {
            Name = "bench",
            Seed = 42,
            SeedPrompts = ["You are a helpful assistant."],
            PopulationSize = population,
            Generations = generations,
            EliteCount = 2,
            TournamentSize = 3,
            Cases = [.. new[] { "precise", "friendly", "concise", "clear" }.Select((w, i) => new EvolutionCase
            {
                Input = $"Question {i} about {w} things.",
                Checker = new EvolutionChecker { Type = "contains", Expected = Text(w) },
            })],
        };
    }

    internal static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    internal static ProcessHost StartWorker(OrchestratorProcess orch, string name, string provider, string url, int slots) =>
        orch.StartWorker(name, provider, url, slots, Key);
}
