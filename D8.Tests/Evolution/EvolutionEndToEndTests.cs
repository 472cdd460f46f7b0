using System.Text.Json;
using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Worker;
using Xunit.Abstractions;

namespace D8.Tests.Evolution;

/// <summary>
/// Evolution on a real fleet: orchestrator and worker processes, the emulators as providers (operators on the
/// Ollama emulator in JSON mode via format, evaluation on the OpenAI emulator).
/// </summary>
public sealed class EvolutionEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task Best_fitness_improves_elites_survive_and_the_same_seed_gives_the_same_lineage()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi" });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output);
        await StartWorkersAsync(fleet, ollama, groq);

        var spec = EvolutionSpecs.Words(seed: 7);
        var first = await RunAsync(fleet.Client, spec);
        var second = await RunAsync(fleet.Client, spec);

        Assert.Equal(EvolutionState.Completed, first.State);
        Assert.Equal(6, first.History.Count);
        output.WriteLine(string.Join(" ", first.History.Select(h => $"g{h.Generation}:{h.Best:0.00}/{h.Mean:0.00}")));
        Assert.True(first.History[^1].Best > first.History[0].Best, "best fitness improves over the generations");
        for (var g = 1; g < first.History.Count; g++)
        {
            Assert.True(first.History[g].Best >= first.History[g - 1].Best, $"elitism: generation {g}'s best is not below the previous one");
        }
        var lineage = await fleet.Client.GetLineageAsync(first.Id);
        foreach (var elite in lineage.Genomes.Where(x => x.Operator == "elite" && x.Slot == 0))
        {
            var parent = lineage.Genomes.Single(x => x.Id == Assert.Single(elite.Parents));
            Assert.Equal(first.History[elite.Generation - 1].BestGenomeId, parent.Id);
            Assert.Equal(parent.Prompt, elite.Prompt);
            Assert.Equal(parent.Fitness, elite.Fitness);
        }
        Assert.All(lineage.Genomes, x => Assert.False(string.IsNullOrWhiteSpace(x.Prompt)));
        Assert.Contains(lineage.Genomes, x => x.Operator.StartsWith("crossover", StringComparison.Ordinal) && x.Parents.Count == 2);
        Assert.Equal(first.Best!.Prompt, (await fleet.Client.GetBestGenomeAsync(first.Id)).Prompt);

        // Same seed, deterministic model: the same draws, hence the same lineage, whatever the timing was.
        var again = await fleet.Client.GetLineageAsync(second.Id);
        Assert.Equal(Describe(lineage), Describe(again));
    }

    [Fact]
    public async Task Kill_9_of_the_orchestrator_mid_run_resumes_without_running_any_task_twice()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi", TokenDelay = TimeSpan.FromMilliseconds(15) });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey, TokenDelay = TimeSpan.FromMilliseconds(15) });
        await using var fleet = await WorkerFleet.StartAsync(output);
        await StartWorkersAsync(fleet, ollama, groq);

        var submitted = await fleet.Client.SubmitEvolutionAsync(EvolutionSpecs.Words(seed: 11, generations: 5));
        // Mid-run: the first operator task of generation 2 has reached the model, so generations 0 and 1 are partly scored.
        await ollama.WaitForRequestAsync(r => r.Path == "/api/chat" && r.Body.Contains("Variant: g2s", StringComparison.Ordinal), RunTimeout);
        var before = await fleet.Client.GetEvolutionAsync(submitted.Id);
        await fleet.Orchestrator!.KillAsync();
        await fleet.StartOrchestratorAsync();

        var done = await EvolutionSpecs.WaitForEndAsync(fleet.Client, submitted.Id, RunTimeout);

        Assert.Equal(EvolutionState.Completed, done.State);
        Assert.True(before.History.Sum(h => h.Evaluated) > 0, "some genomes were fully scored before the kill");
        var calls = ChatCalls(ollama).Concat(ChatCalls(groq)).ToList();
        var tasks = (await fleet.Client.ListTasksAsync(limit: 1000)).Items;
        // Every task ran exactly once (one model call per task the run counted, each with its own key, one attempt),
        // and no prompt was evaluated twice (identical prompts share one evaluation), so no request repeats.
        Assert.Equal(done.TasksSubmitted, tasks.Count);
        Assert.Equal(tasks.Count, calls.Count);
        Assert.Equal(tasks.Count, tasks.Select(t => t.IdempotencyKey).Distinct().Count());
        Assert.All(tasks, t => Assert.Equal(1, t.Attempts));
        Assert.Equal(calls.Count, calls.Distinct().Count());
        var lineage = await fleet.Client.GetLineageAsync(submitted.Id);
        Assert.All(lineage.Genomes, x => Assert.NotNull(x.Fitness));
    }

    [Fact]
    public async Task Budgets_stop_the_run_and_cancel_what_is_queued()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi" });
        await using var groq = await OpenAiEmulator.StartAsync(new() { Name = "groq", ApiKey = WorkerFleet.EmulatorKey });
        await using var fleet = await WorkerFleet.StartAsync(output);
        await StartWorkersAsync(fleet, ollama, groq);

        var byTasks = await RunAsync(fleet.Client, EvolutionSpecs.Words(seed: 3, budget: new EvolutionBudget { MaxTasks = 20 }));
        Assert.Equal(EvolutionState.Stopped, byTasks.State);
        Assert.Contains("max_tasks", byTasks.StopReason);
        Assert.Equal(20, byTasks.TasksSubmitted);
        Assert.True(ChatCalls(ollama).Count() + ChatCalls(groq).Count() <= 20);

        var byTokens = await RunAsync(fleet.Client, EvolutionSpecs.Words(seed: 3, budget: new EvolutionBudget { MaxTokens = 300 }));
        Assert.Equal(EvolutionState.Stopped, byTokens.State);
        Assert.Contains("max_tokens", byTokens.StopReason);
        Assert.True(byTokens.TokensUsed >= 300);
    }

    internal static async Task StartWorkersAsync(WorkerFleet fleet, OllamaEmulator ollama, OpenAiEmulator groq)
    {
        fleet.StartWorker("pi-1", "ollama", ollama.BaseUrl, new Dictionary<string, string?> { ["D8_CONCURRENCY"] = "4" });
        fleet.StartWorker("groq-1", "groq", groq.BaseUrl + "/openai/v1", new Dictionary<string, string?> { ["D8_RPM"] = "0", ["D8_TPM"] = "0", ["D8_RPD"] = "0" });
        var pi = await fleet.WaitForWorkerAsync("pi-1");
        await fleet.WaitForWorkerAsync("groq-1");
        Assert.Contains(EvolutionTaskKinds.Evaluate, pi.TaskKinds);
    }

    private static async Task<EvolutionView> RunAsync(OrchestratorClient client, EvolutionSpec spec)
    {
        var submitted = await client.SubmitEvolutionAsync(spec);
        return await EvolutionSpecs.WaitForEndAsync(client, submitted.Id, RunTimeout);
    }

    /// <summary>The message lists of the chat calls a model answered (Ollama's load calls without messages left out).</summary>
    internal static IEnumerable<string> ChatCalls(EmulatorHost emulator) =>
        emulator.Requests.Snapshot()
            .Where(r => r.Path.EndsWith("/chat", StringComparison.Ordinal) || r.Path.EndsWith("/chat/completions", StringComparison.Ordinal))
            .Select(r =>
            {
                using var body = r.ParseBody();
                return body.RootElement.TryGetProperty("messages", out var m) && m.GetArrayLength() > 0 ? m.GetRawText() : null;
            })
            .OfType<string>();

    private static List<string> Describe(LineageView lineage) =>
        [.. lineage.Genomes.Select(x => $"{x.Id}|{x.Operator}|{string.Join(",", x.Parents)}|{x.Fallback}|{x.Fitness}|{x.Prompt}")];
}
