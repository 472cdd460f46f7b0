using D8.Worker.Configuration;
using D8.Worker.RateLimits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace D8.Tests.Worker;

/// <summary>Proactive budgets and their free-tier defaults.</summary>
[Trait("Category", "Unit")]
public sealed class BudgetTests
{
    private static WorkerOptions Load(params (string Key, string Value)[] settings)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?>
            {
                ["D8_ORCHESTRATOR_URL"] = "http://127.0.0.1:1",
                ["D8_JOIN_TOKEN"] = "j",
                ["D8_PROVIDER_API_KEY"] = "k",
            }.Concat(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))).Build();
        var reader = new SettingsReader(config);
        var options = WorkerOptionsLoader.Load(reader);
        Assert.True(options is not null, string.Join(" ", reader.Errors));
        return options;
    }

    [Fact]
    public void Free_tier_defaults_per_provider_and_overrides()
    {
        var groq = Load(("D8_PROVIDER", "groq"));
        var gemini = Load(("D8_PROVIDER", "gemini"));
        var ollama = Load(("D8_PROVIDER", "ollama"));
        var custom = Load(("D8_PROVIDER", "groq"), ("D8_RPM", "0"), ("D8_RPD", "5"));

        Assert.Equal((30, 6000, 14400), (groq.RequestsPerMinute, groq.TokensPerMinute, groq.RequestsPerDay));
        Assert.Equal((5, 250000, 20), (gemini.RequestsPerMinute, gemini.TokensPerMinute, gemini.RequestsPerDay));
        Assert.Equal((0, 0, 0), (ollama.RequestsPerMinute, ollama.TokensPerMinute, ollama.RequestsPerDay));
        Assert.Equal((0, 5), (custom.RequestsPerMinute, custom.RequestsPerDay));
        Assert.Equal(1, ollama.Concurrency);
        Assert.Equal(4, groq.Concurrency);
        Assert.Equal("gemini-2.5-flash", gemini.DefaultModel);
        Assert.Equal(new Uri("https://api.groq.com/openai/v1"), groq.ProviderUrl);
    }

    [Fact]
    public void Aspire_connection_string_wins_over_url_and_model()
    {
        var options = Load(("D8_PROVIDER", "ollama"), ("D8_OLLAMA_URL", "http://a:1"), ("D8_MODEL", "x:1b"),
            ("D8_OLLAMA_CONNECTION", "Endpoint=http://pi:11434;Model=qwen2.5:0.5b"));

        Assert.Equal(new Uri("http://pi:11434"), options.ProviderUrl);
        Assert.Equal(["qwen2.5:0.5b"], options.Models);
    }

    [Fact]
    public async Task Daily_budget_refuses_once_spent_and_says_how_long_to_wait()
    {
        var options = Load(("D8_PROVIDER", "gemini"), ("D8_RPD", "2"), ("D8_RPM", "0"), ("D8_TPM", "0"));
        await using var budget = new ProviderBudget(options, TimeProvider.System);

        var first = await budget.AcquireAsync(10, CancellationToken.None);
        var second = await budget.AcquireAsync(10, CancellationToken.None);
        var third = await budget.AcquireAsync(10, CancellationToken.None);

        Assert.Null(first);
        Assert.Null(second);
        Assert.NotNull(third);
        Assert.True(third > TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Requests_per_minute_budget_makes_the_next_request_wait()
    {
        var options = Load(("D8_PROVIDER", "groq"), ("D8_RPM", "1"), ("D8_TPM", "0"), ("D8_RPD", "0"));
        await using var budget = new ProviderBudget(options, TimeProvider.System);
        await budget.AcquireAsync(1, CancellationToken.None);
        using var cts = new CancellationTokenSource();

        var second = budget.AcquireAsync(1, cts.Token);
        Assert.False(second.IsCompleted);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
    }

    [Fact]
    public async Task A_refused_request_is_given_back_to_every_window()
    {
        var options = Load(("D8_PROVIDER", "groq"), ("D8_RPM", "2"), ("D8_TPM", "1000"), ("D8_RPD", "3"));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var budget = new ProviderBudget(options, time);

        Assert.True(budget.TryTake(600));
        // The provider answered 429: the request counts against none of its limits.
        budget.Refund(600);

        Assert.Equal(1000, budget.TokenHeadroom());
        Assert.All(budget.Usage(), u => Assert.Equal(0, u.Used));
        Assert.True(budget.TryTake(900));
        Assert.False(budget.TryTake(200));
    }

    [Theory]
    [InlineData(5, 1, false)]
    [InlineData(3_600, 1, true)]
    [InlineData(400, 10, true)]
    public void A_task_that_does_not_fit_pauses_only_its_slot_unless_the_daily_budget_is_spent(double refillSeconds, int scale, bool wholeWorker)
    {
        var refill = TimeSpan.FromSeconds(refillSeconds);

        var (workerCooldown, slotPause) = D8.Worker.Loop.WorkerLoop.AfterBudgetRelease(refill, scale);

        Assert.Equal(wholeWorker ? refill : TimeSpan.Zero, workerCooldown);
        Assert.Equal(wholeWorker ? TimeSpan.Zero : refill, slotPause);
    }

    [Fact]
    public void A_rate_limit_report_carries_what_is_left_of_the_retry_after()
    {
        var now = DateTimeOffset.UnixEpoch;

        // Reported 50 ms after the 429 that asked for 200 ms: the orchestrator cools down for the 150 ms left.
        Assert.Equal(0.15, D8.Worker.Loop.WorkerLoop.RetryAfterLeft(now.AddMilliseconds(150), now)!.Value, 6);
        // Already over when reported: the least positive wait (zero would mean "none given").
        Assert.Equal(0.001, D8.Worker.Loop.WorkerLoop.RetryAfterLeft(now.AddMilliseconds(-5), now));
        Assert.Null(D8.Worker.Loop.WorkerLoop.RetryAfterLeft(null, now));
    }
}
