using D8.Contracts;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;

namespace D8.Tests.Evolution;

/// <summary>Held-out validation cases on a real orchestrator with a scripted worker.</summary>
[Trait("Category", "Unit")]
public sealed class ValidationCasesTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    [Fact]
    public async Task Only_each_generation_s_best_is_validated_and_train_and_validation_fitness_are_both_reported()
    {
        var validationAsked = 0;
        var operatorMessages = new List<string>();
        await using var worker = await TestWorker.StartAsync(_orch, (lease, _) =>
        {
            var user = lease.Messages[^1].Content;
            if (lease.Kind == EvolutionTaskKinds.Evaluate)
            {
                if (user.StartsWith("Held out", StringComparison.Ordinal)) Interlocked.Increment(ref validationAsked);
                return TestWorker.Success("echo: " + lease.Messages[0].Content);
            }
            lock (operatorMessages) operatorMessages.Add(user);
            return TestWorker.Success("{\"prompt\": \"Be precise. " + user.Split("Variant: ")[1].Split('\n')[0] + "\"}");
        }, EvolutionTaskKinds.All);

        var client = _orch.CreateClient();
        var spec = Landscapes.Visible(seed: 3, generations: 3, maxTasks: 1000) with
        {
            SeedPrompts = ["Be precise and friendly."],
            PopulationSize = 3,
            MutationOperators = ["reflect"],
            Operators = null,
            Evaluation = null,
            ValidationCases =
            [
                new EvolutionCase { Input = "Held out 1.", Checker = new EvolutionChecker { Type = "contains", Expected = EvolutionSpecs.Json("\"precise\"") } },
                new EvolutionCase { Input = "Held out 2.", Checker = new EvolutionChecker { Type = "contains", Expected = EvolutionSpecs.Json("\"zebra\"") } },
            ],
        };
        var submitted = await client.SubmitEvolutionAsync(spec);
        var done = await EvolutionSpecs.WaitForEndAsync(client, submitted.Id, TimeSpan.FromSeconds(60));

        Assert.Equal(EvolutionState.Completed, done.State);
        // The seed ("precise and friendly", 2 of 8) stays every generation's best: one prompt, validated once.
        Assert.All(done.History, h => Assert.Equal(0.25, h.Best));
        Assert.All(done.History, h => Assert.Equal(0.5, h.BestValidation));
        Assert.Equal(2, validationAsked);
        Assert.Equal(0.5, done.Best!.ValidationFitness);
        Assert.Equal(0.25, done.Best.Fitness);
        // Held-out cases never reach an operator (reflections show training cases only).
        Assert.NotEmpty(operatorMessages);
        Assert.All(operatorMessages, m => Assert.DoesNotContain("Held out", m));
        Assert.Contains(operatorMessages, m => m.Contains("expected: \"concise\"", StringComparison.Ordinal));

        var bad = D8.Orchestrator.Evolution.EvolutionSpecValidator.Validate(spec with { ValidationCases = [new EvolutionCase { Input = "x" }] });
        Assert.Contains("validation_cases[0].checker", bad.Keys);
    }
}
