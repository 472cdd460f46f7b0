using D8.Contracts;
using D8.Orchestrator.Evolution;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;

namespace D8.Tests.Evolution;

/// <summary>Minibatch-first evaluation: the seeded draws, and the gate on a real orchestrator with a scripted worker.</summary>
[Trait("Category", "Unit")]
public sealed class MinibatchTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;

    public async Task InitializeAsync() => _orch = await InProcessOrchestrator.StartAsync();

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    private static EvolutionSettings Settings(long seed, int minibatch) =>
        EvolutionSettings.From(Landscapes.Visible(seed, 6, 1000) with { MinibatchSize = minibatch });

    [Fact]
    public void Minibatches_are_drawn_from_seed_and_generation_alone_and_leave_the_other_draws_alone()
    {
        var a = Enumerable.Range(0, 6).Select(g => GenerationPlan.Minibatch(Settings(3, 3), g)!).ToList();
        // A second draw (a restarted orchestrator computes it afresh) gives the same minibatches.
        var again = Enumerable.Range(0, 6).Select(g => GenerationPlan.Minibatch(Settings(3, 3), g)!).ToList();
        Assert.Equal(a, again);
        Assert.All(a, b =>
        {
            Assert.Equal(3, b.Distinct().Count());
            Assert.Equal(b.Order(), b);
            Assert.All(b, c => Assert.InRange(c, 0, 7));
        });
        Assert.True(a.Distinct(new SequenceComparer()).Count() > 1, "generations draw different minibatches");
        Assert.NotEqual(a, Enumerable.Range(0, 6).Select(g => GenerationPlan.Minibatch(Settings(4, 3), g)!).ToList());
        Assert.Null(GenerationPlan.Minibatch(Settings(3, 0), 1));
        // The slot plan is the same with or without minibatches.
        Assert.Equal(GenerationPlan.For(Settings(3, 0), 2).Select(p => p.ToString()), GenerationPlan.For(Settings(3, 3), 2).Select(p => p.ToString()));
        var bad = EvolutionSpecValidator.Validate(Landscapes.Visible(1, 2, 10) with { MinibatchSize = 8 });
        Assert.Contains("minibatch_size", bad.Keys);
    }

    [Fact]
    public async Task A_child_that_loses_on_the_minibatch_is_not_fully_evaluated_and_becomes_a_copy_of_its_parent()
    {
        var evaluations = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var worker = await TestWorker.StartAsync(_orch, (lease, _) =>
        {
            if (lease.Kind == EvolutionTaskKinds.Evaluate)
            {
                lock (evaluations) evaluations[lease.Messages[0].Content] = evaluations.GetValueOrDefault(lease.Messages[0].Content) + 1;
                return TestWorker.Success("echo: " + lease.Messages[0].Content); // contains checkers read the system prompt back
            }
            // g0s1 keeps every target word (does not lose), g0s2 drops them all (loses on any minibatch).
            var user = lease.Messages[^1].Content;
            return TestWorker.Success(user.Contains("Variant: g0s1", StringComparison.Ordinal)
                ? "{\"prompt\": \"All: " + string.Join(" ", Landscapes.Targets) + ". Be brief.\"}"
                : "{\"prompt\": \"Nothing at all.\"}");
        }, EvolutionTaskKinds.All);

        var client = _orch.CreateClient();
        var spec = Landscapes.Visible(seed: 2, generations: 1, maxTasks: 1000) with
        {
            SeedPrompts = ["All: " + string.Join(" ", Landscapes.Targets) + "."],
            PopulationSize = 3,
            MutationOperators = ["add_constraint"],
            MinibatchSize = 3,
            Operators = null,
            Evaluation = null,
        };
        var submitted = await client.SubmitEvolutionAsync(spec);
        var done = await EvolutionSpecs.WaitForEndAsync(client, submitted.Id, TimeSpan.FromSeconds(60));

        Assert.Equal(EvolutionState.Completed, done.State);
        Assert.Equal(1, done.MinibatchRejections);
        Assert.Equal(8, evaluations[spec.SeedPrompts[0]]);
        Assert.Equal(8, evaluations["All: " + string.Join(" ", Landscapes.Targets) + ". Be brief."]);
        Assert.Equal(3, evaluations["Nothing at all."]); // the minibatch only
        Assert.Equal(3 + 8 + 8 + 2, done.TasksSubmitted); // 3 + 8 + 8 evaluations, 2 operator tasks
        var lineage = await client.GetLineageAsync(submitted.Id);
        var stopped = lineage.Genomes.Single(g => g.Id == "g0s2");
        Assert.True(stopped.StoppedAtMinibatch);
        Assert.Equal(0, stopped.MinibatchScore);
        Assert.Equal("Nothing at all.", stopped.RejectedPrompt);
        Assert.Equal(spec.SeedPrompts[0], stopped.Prompt);
        Assert.Equal(1.0, stopped.Fitness);
        var passed = lineage.Genomes.Single(g => g.Id == "g0s1");
        Assert.False(passed.StoppedAtMinibatch);
        Assert.Equal(1.0, passed.MinibatchScore);
    }

    private sealed class SequenceComparer : IEqualityComparer<IReadOnlyList<int>>
    {
        public bool Equals(IReadOnlyList<int>? x, IReadOnlyList<int>? y) => x!.SequenceEqual(y!);
        public int GetHashCode(IReadOnlyList<int> obj) => string.Join(",", obj).GetHashCode(StringComparison.Ordinal);
    }
}
