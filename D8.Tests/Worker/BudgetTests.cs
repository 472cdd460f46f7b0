using D8.Worker.Configuration;
using D8.Worker.RateLimits;
using Microsoft.Extensions.Configuration;

namespace D8.Tests.Worker;

/// <summary>Proactive budgets and their free-tier defaults.</summary>
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
        var (options, errors) = WorkerOptionsLoader.Load(config);
        Assert.True(options is not null, string.Join(" ", errors));
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
}
