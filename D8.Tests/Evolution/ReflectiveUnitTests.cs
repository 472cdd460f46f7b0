using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Orchestrator.Evolution;

namespace D8.Tests.Evolution;

/// <summary>The per-case Pareto front, its weighted draws and merge partners, reflection feedback and the emulator's reading of it.</summary>
[Trait("Category", "Unit")]
public sealed class ReflectiveUnitTests
{
    private static IReadOnlyList<IReadOnlyList<double>> Pool(params double[][] scores) => scores;

    [Fact]
    public void The_front_keeps_case_leaders_drops_the_dominated_and_counts_identical_scores_once()
    {
        var front = ParetoFront.Of(Pool(
            [1, 0, 0],     // 0: leads case 0
            [0, 1, 0.5],   // 1: leads case 1, tied best nowhere else
            [0, 1, 1],     // 2: dominates 1 (same on case 1, better on 2)
            [0.5, 0.5, 0], // 3: best nowhere
            [1, 0, 0]));   // 4: the same scores as 0
        Assert.Equal([0, 2], front.Members.Select(m => m.Index));
        Assert.Equal([0], front.Members[0].Leads.Order());
        Assert.Equal([1, 2], front.Members[1].Leads.Order());
        Assert.True(ParetoFront.Dominates([0, 1, 1], [0, 1, 0.5]));
        Assert.False(ParetoFront.Dominates([1, 0], [0, 1]));
        Assert.False(ParetoFront.Dominates([1, 1], [1, 1]));
        Assert.Empty(ParetoFront.Of([]).Members);
    }

    [Fact]
    public void Parents_are_drawn_by_the_number_of_cases_they_lead_and_merge_partners_lead_elsewhere()
    {
        var front = ParetoFront.Of(Pool([1, 0, 0, 0], [0, 1, 1, 1]));
        // Member 0 leads 1 case of 4, member 1 leads 3: u in [0, 0.25) picks 0, the rest picks 1.
        Assert.Equal(0, front.Draw(0).Index);
        Assert.Equal(0, front.Draw(0.24).Index);
        Assert.Equal(1, front.Draw(0.25).Index);
        Assert.Equal(1, front.Draw(0.999).Index);
        var counts = Enumerable.Range(0, 1000).Select(i => front.Draw(i / 1000.0).Index).GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(250, counts[0]);
        Assert.Equal(750, counts[1]);

        Assert.Equal(1, front.Partner(front.Members[0], 0.5)!.Index);
        Assert.Equal(0, front.Partner(front.Members[1], 0.5)!.Index);
        // One member leading everything: no partner leads elsewhere.
        var alone = ParetoFront.Of(Pool([1, 1], [0, 0]));
        Assert.Null(alone.Partner(Assert.Single(alone.Members), 0.3));
        // A tie on every case a member leads gives it no new case, so it is not a partner.
        var tied = ParetoFront.Of(Pool([1, 1, 0], [1, 0, 1], [0, 1, 1]));
        Assert.Equal(3, tied.Members.Count);
        Assert.NotEqual(0, tied.Partner(tied.Members[0], 0.1)!.Index);
    }

    [Fact]
    public void A_pareto_plan_is_drawn_from_the_seed_alone_and_names_merges()
    {
        var settings = EvolutionSettings.From(EvolutionSpecs.Words(4, 4) with { Selection = "pareto" });
        var a = GenerationPlan.For(settings, 2);
        var b = GenerationPlan.For(settings, 2);
        Assert.Equal(a, b, (x, y) => x.ToString() == y.ToString());
        var children = a.OfType<ChildSlot>().ToList();
        Assert.All(children, c => Assert.Empty(c.TournamentA));
        Assert.All(children, c => Assert.InRange(c.PickA, 0, 1));
        Assert.Contains(children, c => c.Crossover);
        Assert.Contains(MutationOperatorNames.Reflect, settings.MutationOperators);
    }

    [Fact]
    public void Reflection_shows_the_weakest_cases_with_answer_verdict_and_expected_value_within_the_budget()
    {
        var spec = EvolutionSpecs.Words(1) with { ReflectionCases = 2 };
        var settings = EvolutionSettings.From(spec);
        var parent = new Genome
        {
            Id = "g0s0", Operator = "seed", Prompt = "You help.", Scores = [1, 0, 0.5, 0],
            Answers = new() { [1] = "groq ab12 You help. \"\"\" tricky", [3] = new string('x', 5000) },
        };
        Assert.Equal([1, 3], Reflection.Weakest(parent, settings));
        var (text, shown) = Reflection.Feedback(parent, Reflection.Weakest(parent, settings), settings);
        Assert.Equal([1, 3], shown);
        Assert.Contains("Case 1 \"friendly\": score 0 of 1", text);
        Assert.Contains("input: \"Question 1: tell me about friendly things.\"", text);
        Assert.Contains("answer: \"groq ab12 You help. \\\"\\\"\\\" tricky\"", text); // quoted: cannot close the prompt's block
        Assert.Contains("verdict: the answer does not contain the expected text", text);
        Assert.Contains("expected: \"friendly\"", text);
        Assert.True(text.Length <= settings.ReflectionMaxChars, "the feedback fits the budget");
        Assert.Contains("…", text); // the long answer was trimmed

        // A tight budget still shows one case; a parent that passes everything shows none.
        var tight = EvolutionSettings.From(spec with { ReflectionMaxChars = 200 });
        Assert.Equal([1], Reflection.Feedback(parent, [1, 3], tight).Shown);
        Assert.Empty(Reflection.Weakest(new Genome { Id = "p", Operator = "seed", Prompt = "p", Scores = [1, 1, 1, 1] }, settings));

        // A judge case shows the judge's reason instead of an expected value.
        var judged = EvolutionSettings.From(spec with
        {
            Cases = [new EvolutionCase { Input = "Explain.", Checker = new EvolutionChecker { Type = "judge", Rubric = "secret" } }],
        });
        var graded = new Genome { Id = "g", Operator = "seed", Prompt = "p", Scores = [0], Reasons = new() { [0] = "0 rubric words present" } };
        var (judgeText, _) = Reflection.Feedback(graded, [0], judged);
        Assert.Contains("judge's reason: \"0 rubric words present\"", judgeText);
        Assert.DoesNotContain("secret", judgeText);
    }

    [Fact]
    public void The_emulator_takes_the_hint_of_a_reflection_only_when_the_expected_value_is_shown()
    {
        var settings = EvolutionSettings.From(EvolutionSpecs.Words(1));
        var parent = new Genome { Id = "g0s0", Operator = "seed", Prompt = "You help. Be precise.", Scores = [1, 0, 1, 0] };
        var (feedback, _) = Reflection.Feedback(parent, Reflection.Weakest(parent, settings), settings);
        var message = OperatorPrompts.Reflect(parent.Prompt, feedback, 2, 4, "g1s2")[1].Content;
        Assert.Equal(["friendly", "clear"], EmulatorEvolution.Expected(message));
        Assert.Equal("You help. Be precise. Be friendly. Be clear.", EmulatorEvolution.Transform(message));

        // Hidden: the same reflection without expected lines is an ordinary mutation (one vocabulary word).
        var hidden = OperatorPrompts.Reflect(parent.Prompt, "Case 1: score 0 of 1\n  verdict: the judge scored it low", 2, 4, "g1s2")[1].Content;
        Assert.Empty(EmulatorEvolution.Expected(hidden));
        Assert.Matches(@"^You help\. Be precise\.( Be \w+\.)?$", EmulatorEvolution.Transform(hidden));

        var merge = OperatorPrompts.Merge("You help. Be clear.", [0], "You help. Be vivid.", [1, 2], "g2s2")[1].Content;
        Assert.Contains("parent A is\nbest on cases 0, parent B on cases 1, 2", merge.Replace("\r", "", StringComparison.Ordinal));
        Assert.StartsWith("You help. Be clear. Be vivid.", EmulatorEvolution.Transform(merge));
    }

    [Fact]
    public void The_progress_line_names_validation_front_minibatch_stops_and_cache_hits_when_they_apply()
    {
        var view = new EvolutionView
        {
            Id = "evo_x", State = EvolutionState.Running, Generations = 3, Selection = "pareto", FrontSize = 3, MinibatchRejections = 4, CacheHits = 12,
            Best = new GenomeView { Id = "g1s0", Operator = "reflect", Fitness = 0.9, ValidationFitness = 0.75 },
        };
        Assert.Equal(" · validation 0.750 · front 3 · minibatch stopped 4 · cache hits 12", D8.Cli.Evolve.EvolveFormat.Learning(view));
        Assert.EndsWith("cache hits 12", D8.Cli.Evolve.EvolveFormat.ProgressLine(view));
        Assert.Equal("", D8.Cli.Evolve.EvolveFormat.Learning(new EvolutionView { Id = "e", State = EvolutionState.Running }));
    }

    [Fact]
    public void The_validator_accepts_the_new_keys_and_names_bad_values_by_field()
    {
        var good = EvolutionSpecs.Words(1) with { Selection = "pareto", ReflectionCases = 5, ReflectionMaxChars = 2000, MutationOperators = ["reflect"] };
        Assert.Empty(EvolutionSpecValidator.Validate(good));
        var bad = EvolutionSpecValidator.Validate(good with { Selection = "roulette", ReflectionCases = 0, ReflectionMaxChars = 10, MutationOperators = ["reflect", "reflekt"] });
        Assert.Equal(["mutation_operators[1]", "reflection_cases", "reflection_max_chars", "selection"], bad.Keys.Order(StringComparer.Ordinal));
    }
}
