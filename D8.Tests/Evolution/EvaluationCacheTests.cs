using D8.Contracts;
using D8.Orchestrator.Evolution;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;

namespace D8.Tests.Evolution;

/// <summary>The evaluation cache: its key, when it applies, and reuse across runs on a real orchestrator.</summary>
[Trait("Category", "Unit")]
public sealed class EvaluationCacheTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    private static EvolutionSpec Spec(EvolutionTarget evaluation, bool? cache = null) =>
        Landscapes.Visible(1, 2, 1000) with { Evaluation = evaluation, Cache = cache };

    [Fact]
    public void The_key_covers_provider_model_temperature_genome_case_and_checker_and_only_deterministic_settings_cache()
    {
        var zero = new EvolutionTarget { Provider = "groq", Model = "m", Temperature = 0 };
        var s = EvolutionSettings.From(Spec(zero));
        var key = EvaluationCache.Key(s, "Be precise.", s.Cases[0]);
        Assert.Equal(key, EvaluationCache.Key(EvolutionSettings.From(Spec(zero with { })), "Be precise.", s.Cases[0]));
        Assert.Matches("^[0-9a-f]{64}$", key);
        string[] others =
        [
            EvaluationCache.Key(EvolutionSettings.From(Spec(zero with { Provider = "gemini" })), "Be precise.", s.Cases[0]),
            EvaluationCache.Key(EvolutionSettings.From(Spec(zero with { Model = "m2" })), "Be precise.", s.Cases[0]),
            EvaluationCache.Key(EvolutionSettings.From(Spec(zero with { Temperature = 0.5 })), "Be precise.", s.Cases[0]),
            EvaluationCache.Key(s, "Be precise!", s.Cases[0]),
            EvaluationCache.Key(s, "Be precise.", s.Cases[1]),
            EvaluationCache.Key(s, "Be precise.", s.Cases[0] with { Checker = s.Cases[0].Checker! with { IgnoreCase = false } }),
        ];
        Assert.Equal(others.Length + 1, others.Append(key).Distinct().Count()); // each input changes the key

        Assert.True(EvaluationCache.Applies(s, s.Cases[0]));
        Assert.False(EvaluationCache.Applies(EvolutionSettings.From(Spec(zero with { Temperature = null })), s.Cases[0]));
        Assert.False(EvaluationCache.Applies(EvolutionSettings.From(Spec(zero, cache: false)), s.Cases[0]));
        Assert.True(EvaluationCache.Applies(EvolutionSettings.From(Spec(zero with { Temperature = 0.7 }, cache: true)), s.Cases[0]));
        // A judge case needs a deterministic judge too.
        var judged = EvolutionSettings.From(Landscapes.Hidden(1, 2, 1000) with { Evaluation = zero, Judge = new EvolutionTarget { Temperature = 0.7 }, Cache = null });
        Assert.False(EvaluationCache.Applies(judged, judged.Cases[0]));
        var both = EvolutionSettings.From(Landscapes.Hidden(1, 2, 1000) with { Evaluation = zero, Judge = zero, Cache = null });
        Assert.True(EvaluationCache.Applies(both, both.Cases[0]));
    }

    [Fact]
    public async Task A_second_run_at_temperature_0_reuses_every_evaluation_without_a_task_and_reports_the_hits()
    {
        var evaluations = 0;
        await using var worker = await TestWorker.StartAsync(_orch, (lease, _) =>
        {
            if (lease.Kind != EvolutionTaskKinds.Evaluate) return TestWorker.Success("{\"prompt\": \"Be precise.\"}");
            Interlocked.Increment(ref evaluations);
            return TestWorker.Success("echo: " + lease.Messages[0].Content);
        }, EvolutionTaskKinds.All);
        var client = _orch.CreateClient();
        var spec = Landscapes.Visible(seed: 1, generations: 2, maxTasks: 1000) with
        {
            PopulationSize = 3,
            MutationOperators = ["add_constraint"],
            Operators = null,
            Evaluation = new EvolutionTarget { Temperature = 0 },
        };

        var first = await EvolutionSpecs.WaitForEndAsync(client, (await client.SubmitEvolutionAsync(spec)).Id, TimeSpan.FromSeconds(60));
        var firstEvaluations = evaluations;
        var second = await EvolutionSpecs.WaitForEndAsync(client, (await client.SubmitEvolutionAsync(spec)).Id, TimeSpan.FromSeconds(60));

        Assert.Equal(EvolutionState.Completed, second.State);
        Assert.Equal(16, firstEvaluations); // two distinct prompts × 8 cases (twins share)
        Assert.Equal(0, first.CacheHits);
        Assert.Equal(firstEvaluations, evaluations); // no evaluation task the second time
        Assert.Equal(16, second.CacheHits);
        Assert.Equal(first.Best!.Fitness, second.Best!.Fitness);
        Assert.Equal(first.TasksSubmitted - 16, second.TasksSubmitted);
    }
}
