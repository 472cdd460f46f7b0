using D8.Contracts;
using D8.Orchestrator.Evolution;
using D8.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace D8.Tests.Evolution;

/// <summary>Tokens per evaluation as an objective: the two-dimensional front, the pick under a token cap, the spec's objectives and the cache's tokens.</summary>
public sealed class CostObjectiveTests
{
    private static readonly EvolutionSettings Settings =
        EvolutionSettings.From(Landscapes.Visible(1, 2, 100) with { Objectives = ["fitness", "tokens"] });

    /// <summary>Eight cases: <paramref name="first"/> on case 0, <paramref name="rest"/> on the others.</summary>
    private static double[] Scores(double first, double rest) => [first, .. Enumerable.Repeat(rest, 7)];

    // 0: all right, 500 tokens · 1: all right, 300 (same scores, cheaper) · 2: half, 100 (cheaper still, leads nothing)
    // 3: half, 200 (dominated by 2) · 4: case 0 only, 50 (the cheapest; tied best on case 0)
    private static readonly double[][] PoolScores = [Scores(1, 1), Scores(1, 1), Scores(0.5, 0.5), Scores(0.5, 0.5), Scores(1, 0)];
    private static readonly long[] PoolTokens = [500, 300, 100, 200, 50];

    [Fact]
    public void With_tokens_the_cheaper_of_equal_scores_wins_and_cheaper_weaker_prompts_stay_on_the_front()
    {
        var scores = PoolScores.Select(s => (IReadOnlyList<double>)s).ToList();
        var front = ParetoFront.Of(scores, PoolTokens);
        Assert.Equal([1, 2, 4], front.Members.Select(m => m.Index));
        Assert.Equal(Enumerable.Range(0, 8), front.Members[0].Leads.Order());
        Assert.Empty(front.Members[1].Leads);
        Assert.Equal([0], front.Members[2].Leads.Order());
        // A member that leads no case is still drawn (weight 1): 8 + 1 + 1 = 10.
        Assert.Equal(1, front.Draw(0.79).Index);
        Assert.Equal(2, front.Draw(0.85).Index);
        Assert.Equal(4, front.Draw(0.95).Index);

        // Without tokens: the earliest of the identical scores stands, and the others are dominated.
        Assert.Equal([0], ParetoFront.Of(scores).Members.Select(m => m.Index));
        // Identical scores and tokens: the earliest.
        Assert.Equal([0], ParetoFront.Of([Scores(1, 1), Scores(1, 1)], [10, 10]).Members.Select(m => m.Index));
    }

    [Fact]
    public void The_pick_under_a_token_cap_is_the_fittest_front_member_that_fits_and_otherwise_names_the_cheapest()
    {
        var genomes = PoolScores.Select((s, i) => new Genome
        {
            Id = $"g0s{i}", Generation = 0, Slot = i, Prompt = $"prompt {i}", Operator = "seed",
            Scores = [.. s.Select(v => (double?)v)],
            Tokens = Enumerable.Range(0, 8).ToDictionary(c => c, c => c == 0 ? PoolTokens[i] : 0),
        }).ToList();
        var settings = Settings with { PopulationSize = 5, Generations = 1 };
        var generations = RunViews.Arrange(settings, genomes);

        Assert.Equal(300, genomes[1].TokensPerEvaluation);
        Assert.Equal(("g0s1", 300L), Pick(1000));
        Assert.Equal(("g0s1", 300L), Pick(300));
        Assert.Equal(("g0s2", 100L), Pick(299));
        Assert.Equal(("g0s4", 50L), Pick(99));
        var none = RunViews.BestWithin(settings, generations, 49);
        Assert.Null(none.Best);
        Assert.Equal("g0s4", none.Cheapest!.Id);
        Assert.Equal(300, RunViews.Best(settings, generations)!.TokensPerEvaluation);
        Assert.Equal(3, RunViews.View(new RunRecord
        {
            Id = "evo_t", Spec = Landscapes.Visible(1, 1, 100), State = EvolutionState.Completed,
            CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch,
        }, settings, generations, 5, 0, null, withSpec: false).FrontSize);

        // Incomplete genomes have no tokens per evaluation and are not picked.
        Assert.Null(new Genome { Id = "x", Operator = "seed", Prompt = "p", Scores = [1, null], Tokens = new() { [0] = 5 } }.TokensPerEvaluation);

        (string, long) Pick(long max) => RunViews.BestWithin(settings, generations, max).Best is { } b ? (b.Id, b.TokensPerEvaluation!.Value) : ("none", 0);
    }

    [Fact]
    public void Objectives_are_fitness_or_fitness_and_tokens_and_problems_name_their_field()
    {
        var spec = Landscapes.Visible(1, 2, 100);
        Assert.Empty(EvolutionSpecValidator.Validate(spec with { Objectives = ["fitness", "tokens"] }));
        Assert.Empty(EvolutionSpecValidator.Validate(spec with { Objectives = ["fitness"] }));
        Assert.Equal(["fitness"], EvolutionSettings.From(spec).Objectives);
        Assert.False(EvolutionSettings.From(spec).WeighsTokens);
        Assert.True(Settings.WeighsTokens);

        var onlyTokens = EvolutionSpecValidator.Validate(spec with { Objectives = ["tokens"] });
        Assert.Equal(["objectives"], onlyTokens.Keys);
        var bad = EvolutionSpecValidator.Validate(spec with { Objectives = ["fitness", "cost", "fitness"] });
        Assert.Equal(["objectives[1]", "objectives[2]"], bad.Keys.Order());

        var parsed = System.Text.Json.JsonSerializer.Deserialize("""{"objectives":["fitness","tokens"]}""", D8JsonContext.Default.EvolutionSpec)!;
        Assert.Equal(["fitness", "tokens"], parsed.Objectives);
        Assert.Null(parsed.Unknown);
    }

    [Fact]
    public void The_cache_keeps_tokens_and_a_database_from_before_gets_the_column()
    {
        var path = TempDatabase.NewPath("evolution-cache");
        try
        {
            using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
            {
                old.Open();
                using var cmd = old.CreateCommand();
                cmd.CommandText = """
                    CREATE TABLE evolution_cache (key TEXT PRIMARY KEY, score REAL NOT NULL, answer TEXT NOT NULL, reason TEXT, created_at INTEGER NOT NULL);
                    INSERT INTO evolution_cache VALUES ('old', 0.5, 'an answer', NULL, 1000);
                    """;
                cmd.ExecuteNonQuery();
            }
            using (var store = new EvolutionStore(new D8.Orchestrator.Storage.SqliteDatabase(path)))
            {
                Assert.Equal(new CachedEvaluation(0.5, "an answer", null, 0), store.LoadCached("old", DateTimeOffset.FromUnixTimeMilliseconds(0)));
                store.SaveCached("new", new CachedEvaluation(1, "yes", "why", 42), DateTimeOffset.FromUnixTimeMilliseconds(2000));
            }
            using (var again = new EvolutionStore(new D8.Orchestrator.Storage.SqliteDatabase(path)))
            {
                Assert.Equal(42, again.LoadCached("new", DateTimeOffset.FromUnixTimeMilliseconds(0))!.Tokens);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TempDatabase.Delete(path);
        }
    }
}
