using System.Net;
using System.Net.Http.Json;
using D8.Contracts;
using D8.Emulators.Limits;
using D8.Emulators.OpenAi;
using D8.Worker.Configuration;
using D8.Worker.RateLimits;
using Microsoft.Extensions.Time.Testing;

namespace D8.Tests.Emulators;

/// <summary>Enforced provider limits in the emulator, and the worker's sliding budgets, with a fake clock.</summary>
public sealed class RateLimitTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Emulator_limits_refuse_beyond_rpm_tpm_and_rpd_until_the_window_slides()
    {
        var time = new FakeTimeProvider(Start);
        var limits = new RateLimiter(new RateLimitOptions { RequestsPerMinute = 2, TokensPerMinute = 1000, RequestsPerDay = 3 }, time);

        Assert.Null(limits.Admit(400));
        time.Advance(TimeSpan.FromSeconds(10));
        var tokens = limits.Admit(700);
        Assert.Equal((BudgetWindow.TokensPerMinute, TimeSpan.FromSeconds(50)), (tokens!.Window, tokens.RetryAfter));
        Assert.Null(limits.Admit(500));
        var rpm = limits.Admit(1);
        Assert.Equal((BudgetWindow.RequestsPerMinute, TimeSpan.FromSeconds(50)), (rpm!.Window, rpm.RetryAfter));

        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Null(limits.Admit(100));
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(BudgetWindow.RequestsPerDay, limits.Admit(1)!.Window);
    }

    [Fact]
    public void Emulator_limits_scale_with_time_and_refuse_a_share_at_random()
    {
        var time = new FakeTimeProvider(Start);
        var scaled = new RateLimiter(new RateLimitOptions { RequestsPerMinute = 1, TimeScale = 10 }, time);
        Assert.Null(scaled.Admit(1));
        Assert.Equal(TimeSpan.FromSeconds(6), scaled.Admit(1)!.RetryAfter);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(scaled.Admit(1));

        var busy = new RateLimiter(new RateLimitOptions { RandomRefusalFraction = 0.3, Seed = 1 }, time);
        var refused = Enumerable.Range(0, 1000).Count(_ => busy.Admit(10) is { Busy: true });
        Assert.InRange(refused, 240, 360);
    }

    [Fact]
    public async Task Emulator_answers_429_with_retry_after_and_groq_headers_when_a_limit_is_hit()
    {
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            ApiKey = "k", Limits = new RateLimitOptions { RequestsPerMinute = 1 },
        });
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", "k");
        object Body() => new { model = "llama-3.1-8b-instant", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 5 };

        using var first = await http.PostAsJsonAsync(groq.BaseUrl + "/openai/v1/chat/completions", Body());
        using var second = await http.PostAsJsonAsync(groq.BaseUrl + "/openai/v1/chat/completions", Body());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.InRange(int.Parse(second.Headers.GetValues("retry-after").Single()), 1, 60);
        Assert.Equal("1", second.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Contains("rate_limit_exceeded", await second.Content.ReadAsStringAsync());
    }

    private static WorkerOptions Options(int rpm, int tpm, int rpd, int scale = 1) => new()
    {
        OrchestratorUrl = new Uri("http://127.0.0.1:1"), JoinToken = "j", WorkerName = "w", Provider = ProviderCatalog.Groq,
        Models = ["m"], ProviderUrl = new Uri("http://127.0.0.1:2"), Concurrency = 4, ShutdownGrace = TimeSpan.Zero,
        RequestsPerMinute = rpm, TokensPerMinute = tpm, RequestsPerDay = rpd, OllamaKeepAlive = "1m", PullModel = false,
        RequestTimeout = TimeSpan.FromMinutes(1), BudgetTimeScale = scale,
    };

    [Fact]
    public async Task Worker_budget_says_when_a_request_fits_takes_without_waiting_and_gives_a_refused_request_back()
    {
        var time = new FakeTimeProvider(Start);
        await using var budget = new ProviderBudget(Options(rpm: 2, tpm: 1000, rpd: 0), time);

        Assert.True(budget.TryTake(600));
        Assert.Equal(400, budget.TokenHeadroom());
        Assert.False(budget.TryTake(500));
        Assert.Equal(TimeSpan.FromSeconds(61.2), budget.WaitFor(500)); // the window is 2 % longer than the provider's
        Assert.True(budget.TryTake(300));
        Assert.Equal(TimeSpan.FromSeconds(61.2), budget.WaitFor(1)); // two requests this minute

        budget.Refund(300); // the provider answered 429: that request counts against nothing
        Assert.Equal(TimeSpan.Zero, budget.WaitFor(1));
        Assert.Equal(TimeSpan.FromSeconds(61.2), budget.NextTokenRefill());
        Assert.Contains(budget.Usage(), u => u is { Window: "tokens_per_minute", Used: 600, Limit: 1000 });

        time.Advance(TimeSpan.FromSeconds(61.2));
        Assert.Equal(1000, budget.TokenHeadroom());
        Assert.Null(budget.NextTokenRefill());
    }

    [Fact]
    public async Task Worker_budget_windows_divide_by_the_time_scale()
    {
        var time = new FakeTimeProvider(Start);
        await using var budget = new ProviderBudget(Options(rpm: 1, tpm: 0, rpd: 0, scale: 10), time);

        Assert.True(budget.TryTake(10));
        Assert.Equal(TimeSpan.FromSeconds(6.12), budget.WaitFor(10));
        Assert.Null(budget.TokenHeadroom());
    }
}
