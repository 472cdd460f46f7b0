using System.Threading.RateLimiting;
using D8.Worker.Configuration;

namespace D8.Worker.RateLimits;

/// <summary>
/// Proactive per-provider budgets (requests per minute, tokens per minute, requests per day), so the worker
/// stays under a free tier instead of learning about it from 429s. A limit of 0 means unlimited.
/// </summary>
public sealed class ProviderBudget : IAsyncDisposable
{
    private readonly RateLimiter? _perMinute;
    private readonly RateLimiter? _tokensPerMinute;
    private readonly RateLimiter? _perDay;
    private readonly int _tokenLimit;

    private readonly WorkerOptions options;

    public ProviderBudget(WorkerOptions options, TimeProvider time)
    {
        this.options = options;
        _ = time;
        _perMinute = Sliding(options.RequestsPerMinute, TimeSpan.FromMinutes(1), options.Concurrency);
        _tokensPerMinute = Sliding(options.TokensPerMinute, TimeSpan.FromMinutes(1), options.TokensPerMinute * Math.Max(1, options.Concurrency));
        _tokenLimit = options.TokensPerMinute;
        _perDay = options.RequestsPerDay > 0
            ? new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions
            {
                PermitLimit = options.RequestsPerDay,
                Window = TimeSpan.FromDays(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            })
            : null;
    }

    /// <summary>
    /// Takes one request (and <paramref name="estimatedTokens"/>) from the budgets, waiting for the minute windows.
    /// Returns null when granted, or how long until the daily budget resets when it is spent.
    /// </summary>
    public async Task<TimeSpan?> AcquireAsync(int estimatedTokens, CancellationToken cancellationToken)
    {
        if (_perDay is not null)
        {
            using var day = _perDay.AttemptAcquire();
            if (!day.IsAcquired)
            {
                return day.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromHours(1);
            }
        }
        if (_perMinute is not null)
        {
            using var minute = await _perMinute.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        if (_tokensPerMinute is not null)
        {
            // A request larger than the whole budget still goes, once the window is empty.
            using var tokens = await _tokensPerMinute.AcquireAsync(Math.Clamp(estimatedTokens, 1, _tokenLimit), cancellationToken).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>What is used of each configured budget now: (window, used, limit); unlimited budgets are left out.</summary>
    public IEnumerable<(string Window, long Used, long Limit)> Usage()
    {
        foreach (var (window, limiter, limit) in new[]
                 {
                     ("requests_per_minute", _perMinute, options.RequestsPerMinute),
                     ("tokens_per_minute", _tokensPerMinute, options.TokensPerMinute),
                     ("requests_per_day", _perDay, options.RequestsPerDay),
                 })
        {
            if (limiter?.GetStatistics() is { } stats)
            {
                yield return (window, Math.Max(0, limit - stats.CurrentAvailablePermits), limit);
            }
        }
    }

    /// <summary>Rough token estimate of a request: prompt characters / 4 plus the answer budget.</summary>
    public static int Estimate(IEnumerable<string> messages, int? maxTokens) =>
        messages.Sum(m => m.Length) / 4 + (maxTokens ?? 256);

    private static SlidingWindowRateLimiter? Sliding(int limit, TimeSpan window, int queue) => limit <= 0
        ? null
        : new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit,
            Window = window,
            SegmentsPerWindow = 6,
            QueueLimit = Math.Max(1, queue),
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var limiter in new[] { _perMinute, _tokensPerMinute, _perDay })
        {
            if (limiter is not null) await limiter.DisposeAsync().ConfigureAwait(false);
        }
    }
}
