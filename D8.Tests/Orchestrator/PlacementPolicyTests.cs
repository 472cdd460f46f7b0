using D8.Orchestrator.Scheduling.Placement;

namespace D8.Tests.Orchestrator;

/// <summary>The pure placement decisions.</summary>
[Trait("Category", "Unit")]
public class PlacementPolicyTests
{
    [Fact]
    public void Unknown_speed_or_no_faster_worker_takes_the_task()
    {
        Assert.True(PlacementPolicy.ShouldTake(null, 200, [new PoolMember(600, 0)], []));
        Assert.True(PlacementPolicy.ShouldTake(20, 200, [], []));
    }

    [Fact]
    public void Slow_worker_takes_a_task_only_if_it_finishes_before_the_faster_pool_drains()
    {
        var cloud = new PoolMember(600, 0);
        // 20 tasks of 200 tokens at 600 tokens/s: 6.7 s; the pi needs 20 s.
        Assert.False(PlacementPolicy.ShouldTake(20, 200, [cloud], Enumerable.Repeat(200, 19)));
        // 100 tasks: 33 s; the pi helps.
        Assert.True(PlacementPolicy.ShouldTake(20, 200, [cloud], Enumerable.Repeat(200, 99)));
        // A busy pool counts its running work.
        Assert.True(PlacementPolicy.ShouldTake(20, 200, [cloud with { BusyTokens = 12_000 }], []));
    }

    [Fact]
    public void The_backlog_is_read_only_as_far_as_needed()
    {
        var read = 0;
        IEnumerable<int> Backlog()
        {
            while (true)
            {
                read++;
                yield return 200;
            }
        }

        Assert.True(PlacementPolicy.ShouldTake(2, 200, [new PoolMember(600, 0)], Backlog()));
        Assert.Equal(5, read); // the task itself and five more: 1,200 tokens at 600/s = 2 s
    }

    [Fact]
    public void A_daily_cap_limits_what_a_worker_carries()
    {
        var capped = new PoolMember(1000, 0, TokenCap: 1000);
        var steady = new PoolMember(100, 0);
        // 11,000 tokens: the capped one does 1,000, the other 10,000 at 100/s.
        Assert.Equal(100, PlacementPolicy.DrainSeconds(11_000, [capped, steady]), 3);
        Assert.Equal(double.PositiveInfinity, PlacementPolicy.DrainSeconds(2000, [capped]));
    }

    [Fact]
    public void Speculation_needs_a_clear_gain_and_an_unknown_run_counts_as_stuck_only_when_overdue()
    {
        Assert.True(PlacementPolicy.ShouldSpeculate(0.67, 19, 1));
        Assert.False(PlacementPolicy.ShouldSpeculate(0.67, 0.8, 19));
        Assert.False(PlacementPolicy.ShouldSpeculate(0.67, null, 1));
        Assert.True(PlacementPolicy.ShouldSpeculate(0.67, null, 1.5));
    }

    [Fact]
    public void Speed_model_learns_moving_averages_and_bounds_from_lost_runs()
    {
        var model = new SpeedModel();
        model.Observe("w", "m", 100, 500, 1500, null);
        var first = model.Of("w", "m")!;
        Assert.Equal(100, first.TokensPerSecond, 3);
        Assert.Equal(0.5, first.TimeToFirstTokenSeconds, 3);
        Assert.Equal(2.5, first.SecondsFor(200), 3);
        Assert.Same(first, model.Of("w", "other-model"));

        model.Bound("w", "m", 200, TimeSpan.FromSeconds(10));
        Assert.Equal(20, model.Of("w", "m")!.TokensPerSecond, 3);
        model.Bound("unknown", "m", 200, TimeSpan.FromSeconds(4));
        Assert.Equal((50, 0L), (model.Of("unknown", "m")!.TokensPerSecond, model.Of("unknown", "m")!.Samples));
        model.Observe("w", "m", null, null, 1000, null);
        Assert.Null(model.Of("nobody", "m"));
    }

    [Fact]
    public void Speed_model_falls_back_to_the_workers_best_measured_model_and_forgets_only_that_worker()
    {
        var model = new SpeedModel();
        for (var i = 0; i < 100; i++) model.Observe($"other-{i}", "m", 100, 0, 1000, null);
        Assert.Null(model.Of("w", "m"));
        Assert.Empty(model.OfWorker("w"));
        model.Observe("w", "a", 100, 0, 1000, null);
        model.Observe("w", "b", 200, 0, 1000, null);
        model.Observe("w", "b", 200, 0, 1000, null);
        Assert.Same(model.Of("w", "b"), model.Of("w", "c")); // the most sampled model
        Assert.Equal(2, model.OfWorker("w").Count());
        model.Forget("w");
        Assert.Null(model.Of("w", "c"));
        Assert.Empty(model.OfWorker("w"));
        model.Forget("w");
        Assert.NotNull(model.Of("other-7", "x"));
        model.Bound("w", "a", 100, TimeSpan.FromSeconds(1));
        Assert.Equal(100, model.Of("w", "c")!.TokensPerSecond, 3);
    }
}
