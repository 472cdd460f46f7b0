using D8.Contracts;
using D8.Worker.Configuration;

namespace D8.Worker.RateLimits;

/// <summary>
/// Proactive per-provider budgets (requests per minute, tokens per minute, requests per day), so the worker stays
/// under a free tier instead of learning about it from 429s. Each is an exact sliding window (a log of what was spent
/// and when), so the worker can say when a request will fit again: it waits for that before it asks for a lease, and
/// reports it in heartbeats. A limit of 0 means unlimited. Safe to use from every slot at once.
/// </summary>
public sealed class ProviderBudget : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Window? _perMinute;
    private readonly Window? _tokensPerMinute;
    private readonly Window? _perDay;

    public ProviderBudget(WorkerOptions options, TimeProvider time)
    {
        _time = time;
        var scale = Math.Max(1, options.BudgetTimeScale);
        _perMinute = Window.Of(BudgetWindow.RequestsPerMinute, options.RequestsPerMinute, scale);
        _tokensPerMinute = Window.Of(BudgetWindow.TokensPerMinute, options.TokensPerMinute, scale);
        _perDay = Window.Of(BudgetWindow.RequestsPerDay, options.RequestsPerDay, scale);
    }

    /// <summary>
    /// Takes one request (and <paramref name="estimatedTokens"/>) from the budgets, waiting for the minute windows.
    /// Returns null when granted, or how long until the daily budget has room again when it is spent.
    /// </summary>
    public async Task<TimeSpan?> AcquireAsync(int estimatedTokens, CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                if (_perDay?.WaitFor(1, now) is { } day && day > TimeSpan.Zero)
                {
                    return day;
                }
                wait = WaitForLocked(estimatedTokens, now);
                if (wait <= TimeSpan.Zero)
                {
                    TakeLocked(estimatedTokens, now);
                    return null;
                }
            }
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes one request of <paramref name="estimatedTokens"/> if it fits now, without waiting.</summary>
    public bool TryTake(int estimatedTokens)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (WaitForLocked(estimatedTokens, now) > TimeSpan.Zero) return false;
            TakeLocked(estimatedTokens, now);
            return true;
        }
    }

    /// <summary>Gives back the last request taken (of <paramref name="estimatedTokens"/>): the provider refused it with
    /// 429, and a refused request counts against none of its limits.</summary>
    public void Refund(int estimatedTokens)
    {
        lock (_gate)
        {
            _perMinute?.Refund(1);
            _tokensPerMinute?.Refund(estimatedTokens);
            _perDay?.Refund(1);
        }
    }

    /// <summary>How long until a request of <paramref name="estimatedTokens"/> fits every budget (zero: now).</summary>
    public TimeSpan WaitFor(int estimatedTokens)
    {
        lock (_gate)
        {
            return WaitForLocked(estimatedTokens, _time.GetUtcNow());
        }
    }

    /// <summary>Tokens the tokens-per-minute budget can take now; null when it is unlimited.</summary>
    public int? TokenHeadroom()
    {
        lock (_gate)
        {
            return _tokensPerMinute is { } w ? (int)Math.Max(0, w.Limit - w.Used(_time.GetUtcNow())) : null;
        }
    }

    /// <summary>Until the tokens-per-minute budget next gets room back (its oldest spend leaves the window); null
    /// when it is unlimited or nothing is spent.</summary>
    public TimeSpan? NextTokenRefill()
    {
        lock (_gate)
        {
            return _tokensPerMinute?.NextExpiry(_time.GetUtcNow());
        }
    }

    /// <summary>What is used of each configured budget now: (window, used, limit, window length); unlimited budgets are left out.</summary>
    public IReadOnlyList<(string Window, long Used, long Limit, TimeSpan Length)> Usage()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var usage = new List<(string, long, long, TimeSpan)>(3);
            foreach (var w in new[] { _perMinute, _tokensPerMinute, _perDay })
            {
                if (w is not null) usage.Add((w.Name, w.Used(now), w.Limit, w.Length));
            }
            return usage;
        }
    }

    /// <summary>Rough token estimate of a request: prompt characters / 4 plus the answer budget.</summary>
    public static int Estimate(IEnumerable<string> messages, int? maxTokens) =>
        messages.Sum(m => m.Length) / 4 + (maxTokens ?? 256);

    private TimeSpan WaitForLocked(int tokens, DateTimeOffset now)
    {
        var wait = TimeSpan.Zero;
        foreach (var (w, amount) in new[] { (_perMinute, 1), (_tokensPerMinute, tokens), (_perDay, 1) })
        {
            if (w?.WaitFor(amount, now) is { } t && t > wait) wait = t;
        }
        return wait;
    }

    private void TakeLocked(int tokens, DateTimeOffset now)
    {
        _perMinute?.Take(1, now);
        _tokensPerMinute?.Take(tokens, now);
        _perDay?.Take(1, now);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>One sliding window: what was spent when, over the last <see cref="Length"/>.</summary>
    private sealed class Window(string name, long limit, TimeSpan length)
    {
        private readonly LinkedList<(DateTimeOffset At, long Amount)> _spent = new();
        private long _used;

        public string Name { get; } = name;
        public long Limit { get; } = limit;
        public TimeSpan Length { get; } = length;

        /// <summary>A window 2 % longer than the provider's: a request sent as a slot frees here must not reach the
        /// provider a moment before the slot frees there (its clock starts when the request arrives).</summary>
        public static Window? Of(string name, int limit, int timeScale) =>
            limit > 0 ? new Window(name, limit, BudgetWindow.LengthOf(name) / timeScale * 1.02) : null;

        public long Used(DateTimeOffset now)
        {
            Trim(now);
            return _used;
        }

        /// <summary>Until <paramref name="amount"/> more fits; a request larger than the whole window fits once it is empty.</summary>
        public TimeSpan WaitFor(long amount, DateTimeOffset now)
        {
            Trim(now);
            var need = Math.Min(amount, Limit);
            var free = Limit - _used;
            if (free >= need) return TimeSpan.Zero;
            foreach (var (at, spent) in _spent)
            {
                free += spent;
                if (free >= need) return at + Length - now;
            }
            return Length;
        }

        public TimeSpan? NextExpiry(DateTimeOffset now)
        {
            Trim(now);
            return _spent.First is { } oldest ? oldest.Value.At + Length - now : null;
        }

        public void Take(long amount, DateTimeOffset now)
        {
            _spent.AddLast((now, amount));
            _used += amount;
        }

        public void Refund(long amount)
        {
            for (var node = _spent.Last; node is not null; node = node.Previous)
            {
                if (node.Value.Amount != amount) continue;
                _spent.Remove(node);
                _used -= amount;
                return;
            }
        }

        private void Trim(DateTimeOffset now)
        {
            while (_spent.First is { } oldest && oldest.Value.At + Length <= now)
            {
                _spent.RemoveFirst();
                _used -= oldest.Value.Amount;
            }
        }
    }
}
