using D8.Cli.Evolve;
using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Orchestrator.Evolution;
using D8.Tests.Infrastructure;
using D8.Worker.Configuration;
using Microsoft.Extensions.Configuration;

namespace D8.Tests.Evolution;

/// <summary>Selection, the seeded plan, operators' reply reading, checkers, the spec file and the emulator's evolution answers.</summary>
[Trait("Category", "Unit")]
public sealed class EvolutionUnitTests
{
    private static EvolutionSettings Settings(long seed = 1, int population = 8, int generations = 4) =>
        EvolutionSettings.From(EvolutionSpecs.Words(seed, generations, population: population));

    [Fact]
    public void A_tournament_is_decided_as_soon_as_pending_cases_cannot_change_it()
    {
        // Slot 0: 0.9 known; slot 1: at most 0.5 (half its cases still pending); slot 2: still wholly unknown.
        var bounds = new Dictionary<int, (double, double)> { [0] = (0.9, 0.9), [1] = (0.25, 0.5), [2] = (0, 1) };
        Assert.Equal(0, Selection.Tournament([0, 1], i => bounds[i]));
        Assert.Null(Selection.Tournament([0, 2], i => bounds[i])); // slot 2 could still reach 1.0
        Assert.Null(Selection.Tournament([1, 2], i => bounds[i]));
        // Ties go to the lower slot, so the winner never depends on timing.
        Assert.Equal(1, Selection.Tournament([3, 1], i => (0.5, 0.5)));
        Assert.Equal(0, Selection.Tournament([0], i => (0, 1)));
    }

    [Fact]
    public void Ranking_is_by_fitness_then_slot_and_diversity_measures_shared_words()
    {
        Assert.Equal([2, 0, 1, 3], Selection.Ranking([0.5, 0.2, 0.9, 0.2]));
        Assert.Equal(0, Selection.Diversity(["a b", "a b"]));
        Assert.Equal(1, Selection.Diversity(["a b", "c d"]));
        Assert.Equal(2.0 / 3, Selection.Diversity(["a b", "a c"]), 6);
    }

    [Fact]
    public void Bounds_count_pending_cases_as_0_and_1_and_weights_apply()
    {
        var spec = EvolutionSpecs.Words(1) with
        {
            Cases = [.. EvolutionSpecs.Words(1).Cases!.Select((c, i) => c with { Weight = i == 0 ? 3 : 1 })],
        };
        var s = EvolutionSettings.From(spec);
        var g = new Genome { Id = "g", Operator = "seed", Prompt = "p", Scores = [1, null, 0, null] };
        Assert.Equal((3.0 / 6, 5.0 / 6), g.Bounds(s));
        Assert.Null(g.Fitness(s));
        g.Scores = [1, 1, 0, 0];
        Assert.Equal(4.0 / 6, g.Fitness(s));
    }

    [Fact]
    public void The_same_seed_draws_the_same_plan_and_elites_come_first()
    {
        var a = Enumerable.Range(0, 4).Select(g => GenerationPlan.For(Settings(seed: 9), g)).ToList();
        var b = Enumerable.Range(0, 4).Select(g => GenerationPlan.For(Settings(seed: 9), g)).ToList();
        var c = Enumerable.Range(0, 4).Select(g => GenerationPlan.For(Settings(seed: 10), g)).ToList();
        Assert.Equal(Describe(a), Describe(b));
        Assert.NotEqual(Describe(a), Describe(c));
        Assert.IsType<SeedSlot>(a[0][0]);
        Assert.All(a[0].Skip(1), s => Assert.IsType<SeedMutationSlot>(s));
        Assert.IsType<EliteSlot>(a[1][0]);
        Assert.IsType<EliteSlot>(a[1][1]);
        Assert.All(a[1].Skip(2).Cast<ChildSlot>(), s =>
        {
            Assert.Equal(3, s.TournamentA.Distinct().Count());
            Assert.All(s.TournamentA, i => Assert.InRange(i, 0, 7));
        });
        Assert.Contains(a.Skip(1).SelectMany(p => p).OfType<ChildSlot>(), s => s.Crossover);
        Assert.Contains(a.Skip(1).SelectMany(p => p).OfType<ChildSlot>(), s => !s.Crossover);
    }

    private static string Describe(List<IReadOnlyList<SlotPlan>> plans) =>
        string.Join("\n", plans.SelectMany(p => p).Select(s => s switch
        {
            ChildSlot c => $"child {c.Crossover} {string.Join(",", c.TournamentA)} {string.Join(",", c.TournamentB ?? [])} {c.Operator} {c.MutateAfterCrossover}",
            _ => s.ToString(),
        }));

    [Theory]
    [InlineData("{\"prompt\": \"Be kind.\"}", "Be kind.")]
    [InlineData("```json\n{\"prompt\": \"  Be kind.  \"}\n```", "Be kind.")]
    [InlineData("Here you go: {\"prompt\": \"Be kind.\"} Hope it helps", "Be kind.")]
    [InlineData("{\"prompt\": \"\"}", null)]
    [InlineData("{\"prompt\": 5}", null)]
    [InlineData("{\"child\": \"Be kind.\"}", null)]
    [InlineData("Be kind.", null)]
    [InlineData("{\"prompt\": \"Be kind.\"", null)]
    public void Operator_replies_are_read_leniently_but_never_give_an_empty_prompt(string reply, string? expected) =>
        Assert.Equal(expected, OperatorPrompts.ReadPrompt(reply));

    [Theory]
    [InlineData("{\"score\": 7}", 0.6666666666666666)]
    [InlineData("{\"score\": \"10\"}", 1.0)]
    [InlineData("{\"score\": 40}", 1.0)]
    [InlineData("{\"score\": -3}", 0.0)]
    [InlineData("{\"grade\": 7}", null)]
    [InlineData("seven", null)]
    public void Judge_scores_map_onto_0_to_1(string reply, double? expected)
    {
        var checker = new EvolutionChecker { Type = "judge", Rubric = "r" };
        var score = OperatorPrompts.ReadScore(reply, checker);
        if (expected is null) Assert.Null(score);
        else Assert.Equal(expected.Value, score!.Value, 6);
    }

    public static TheoryData<string, string, double> CheckerCases => new()
    {
        { """{"type":"exact","expected":"Paris"}""", "  Paris ", 1 },
        { """{"type":"exact","expected":"Paris"}""", "paris", 0 },
        { """{"type":"exact","expected":"Paris","ignore_case":true}""", "paris", 1 },
        { """{"type":"contains","expected":"Paris"}""", "It is paris.", 1 },
        { """{"type":"contains","expected":"Paris","ignore_case":false}""", "It is paris.", 0 },
        { """{"type":"regex","pattern":"^\\d{3}$"}""", "391", 1 },
        { """{"type":"regex","pattern":"^\\d{3}$"}""", "391!", 0 },
        { """{"type":"numeric","expected":391}""", "The answer is 391.", 1 },
        { """{"type":"numeric","expected":3.14,"tolerance":0.01}""", "about 3.141", 1 },
        { """{"type":"numeric","expected":3.14,"tolerance":0.01}""", "about 3.2", 0 },
        { """{"type":"numeric","expected":"2"}""", "no number", 0 },
        { """{"type":"json_schema","schema":{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}}""", "```json\n{\"name\": \"x\"}\n```", 1 },
        { """{"type":"json_schema","schema":{"type":"object","required":["name"]}}""", "{\"age\": 3}", 0 },
        { """{"type":"json_schema","schema":{"type":"object"}}""", "not json", 0 },
    };

    [Theory]
    [MemberData(nameof(CheckerCases))]
    public void Checkers_score_answers(string checkerJson, string answer, double expected)
    {
        var checker = System.Text.Json.JsonSerializer.Deserialize(checkerJson, D8JsonContext.Default.EvolutionChecker)!;
        Assert.Equal(expected, Checkers.Score(checker, answer));
        Assert.Null(Checkers.Score(new EvolutionChecker { Type = "judge" }, answer));
    }

    [Fact]
    public void The_example_spec_file_parses_and_is_valid_and_yaml_scalars_keep_their_types()
    {
        var spec = SpecFile.Parse(File.ReadAllText(Path.Combine(AppPaths.RepoRoot, "docs", "evolution-example.yaml")), "example");
        Assert.Empty(EvolutionSpecValidator.Validate(spec));
        Assert.Equal(42, spec.Seed);
        Assert.Equal(0.6, spec.CrossoverRate);
        Assert.Equal("^[^!]*$", spec.Cases![2].Checker!.Pattern);
        Assert.Equal(10, spec.Cases[3].Checker!.ScaleMax);

        var quoted = SpecFile.Parse("name: '42'\nseed_prompts: [\"true\", yes]\ncases: []\n", "q");
        Assert.Equal("42", quoted.Name);
        Assert.Equal(["true", "yes"], quoted.SeedPrompts);
        var json = SpecFile.Parse("{\"seed_prompts\": [\"a\"], \"extra\": 1}", "j");
        Assert.Contains("extra", EvolutionSpecValidator.Validate(json).Keys);
    }

    [Fact]
    public void Worker_task_kinds_default_to_chat_and_evolve_and_can_be_narrowed()
    {
        static (WorkerOptions? Options, IReadOnlyList<string> Errors) Load(string? kinds)
        {
            var settings = new Microsoft.Extensions.Hosting.SettingsReader(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["D8_ORCHESTRATOR_URL"] = "http://127.0.0.1:5080",
                ["D8_JOIN_TOKEN"] = "j",
                ["D8_PROVIDER"] = "ollama",
                ["D8_TASK_KINDS"] = kinds,
            }).Build());
            return (WorkerOptionsLoader.Load(settings), settings.Errors);
        }
        Assert.Equal(EvolutionTaskKinds.All, Load(null).Options!.TaskKinds);
        Assert.Equal(["chat", "evolve.evaluate"], Load(" chat, evolve.evaluate ,chat").Options!.TaskKinds);
        Assert.Contains(Load(" , ").Errors, e => e.Contains("D8_TASK_KINDS", StringComparison.Ordinal));
    }

    [Fact]
    public void The_emulator_mutates_crosses_and_judges_deterministically_and_echoes_the_system_prompt()
    {
        var mutation = OperatorPrompts.Mutation("add_constraint", "You help.", "g1s3")[1].Content;
        var mutated = EmulatorEvolution.Transform(mutation);
        Assert.StartsWith("You help. Be ", mutated);
        Assert.Equal(mutated, EmulatorEvolution.Transform(mutation));
        Assert.Contains(EmulatorEvolution.Vocabulary, w => mutated.EndsWith($"Be {w}.", StringComparison.Ordinal));

        var cross = OperatorPrompts.Crossover("You help. Be clear.", "You help. Be vivid.", null, "g2s2")[1].Content;
        Assert.StartsWith("You help. Be clear. Be vivid.", EmulatorEvolution.Transform(cross));
        var shorten = OperatorPrompts.Mutation("shorten", "You help. Be clear.", "g1s1")[1].Content;
        Assert.Equal("You help.", EmulatorEvolution.Transform(shorten));

        var judge = OperatorPrompts.Judge(new EvolutionChecker { Type = "judge", Rubric = "precise and friendly", ScaleMin = 0, ScaleMax = 4 }, "q?", "I am precise.")[1].Content;
        Assert.Equal((2, 1), EmulatorEvolution.Score(judge));

        var (json, _) = EmulatorEvolution.Answer("e", null, mutation, 12, 12, json: true);
        Assert.Equal(mutated, OperatorPrompts.ReadPrompt(json));
        var (plain, words) = EmulatorEvolution.Answer("e", "Be precise and kind, please.", "hi", 12, 12, json: false);
        Assert.Equal($"e {EmulatorAnswer.Digest("hi")} Be precise and kind, please. alpha bravo charlie delta echo", plain);
        Assert.Equal(12, words.Count);
        // Without a system prompt, and in JSON mode without an operator or judge request, answers are as before.
        Assert.Equal(EmulatorAnswer.Text("e", "hi", 5), EmulatorEvolution.Answer("e", null, "hi", 5, 5, json: false).Content);
        Assert.Equal(EmulatorAnswer.Json("e", "hi", 5), EmulatorEvolution.Answer("e", "sys", "hi", 5, 5, json: true).Content);
    }

    [Fact]
    public void Status_of_a_run_with_nothing_scored_yet_renders_and_names_what_it_waits_for()
    {
        var view = new EvolutionView
        {
            Id = "evo_x", State = EvolutionState.Running, Generations = 3,
            History = [new GenerationSummary { Generation = 0 }],
            Unroutable = [new EvolutionWaiting { Kind = "evolve.judge", Provider = "groq", Tasks = 1, Reason = "no registered worker serves kind 'evolve.judge', provider 'groq'" }],
        };
        var text = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Ansi = Spectre.Console.AnsiSupport.No, Out = new Spectre.Console.AnsiConsoleOutput(text),
        });
        console.Profile.Width = 400;
        console.Write(EvolveFormat.Status(view));
        console.Write(EvolveFormat.Chart(view));
        Assert.Contains("no genome fully scored yet", text.ToString());
        Assert.EndsWith(" · waiting: 1 task: no registered worker serves kind 'evolve.judge', provider 'groq'", EvolveFormat.ProgressLine(view));
        Assert.Equal("", EvolveFormat.Waiting(view with { Unroutable = null }));
        var row = D8.AppHost.Evolution.EvolutionLiveFigures.Describe(view);
        Assert.EndsWith("· waiting for a worker", row.Text);
        Assert.Equal(Aspire.Hosting.ApplicationModel.KnownResourceStateStyles.Warn, row.Style);
        Assert.Equal(Aspire.Hosting.ApplicationModel.KnownResourceStateStyles.Info, D8.AppHost.Evolution.EvolutionLiveFigures.Describe(view with { Unroutable = null }).Style);
    }
}
