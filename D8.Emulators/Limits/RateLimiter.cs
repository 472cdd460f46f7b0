using D8.Contracts;

namespace D8.Emulators.Limits;

/// <summary>Why a request was refused with 429: the limit it hit and how long until it would be admitted.</summary>
/// <param name="Window">The window whose limit refused it (a <see cref="BudgetWindow"/> name).</param>
/// <param name="Allowed">The limit's figure.</param>
/// <param name="Used">Spent in the window.</param>
/// <param name="Requested">What the refused request asked for.</param>
/// <param name="RetryAfter">Until the request would be admitted.</param>
/// <param name="Busy">A random refusal (a busy provider) rather than a spent limit; its window is requests per minute.</param>
public sealed record RateLimitRefusal(string Window, long Allowed, long Used, long Requested, TimeSpan RetryAfter, bool Busy = false);

/// <summary>
/// A provider's rate limits as Groq, Gemini and OpenAI document them: requests per minute, tokens per minute (prompt
/// plus the requested completion budget, charged when the request is admitted) and requests per day, each a sliding
/// window; a refused request costs nothing. Optionally a fraction of requests is refused at random, as a busy
/// provider does. Every window is divided by <see cref="RateLimitOptions.TimeScale"/>.
/// </summary>
public sealed class RateLimiter(RateLimitOptions options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Queue<(DateTimeOffset At, long Tokens)> _minute = new();
    private readonly Queue<DateTimeOffset> _day = new();
    private readonly Random _random = options.Seed is { } seed ? new Random(seed) : new Random();
    private long _minuteTokens;

    /// <summary>The limits enforced.</summary>
    public RateLimitOptions Options { get; } = options;

    /// <summary>Admits (and charges) a request of <paramref name="tokens"/>, or says which limit refuses it.</summary>
    public RateLimitRefusal? Admit(long tokens)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var minute = TimeSpan.FromMinutes(1) / Options.TimeScale;
            var day = TimeSpan.FromDays(1) / Options.TimeScale;
            while (_minute.TryPeek(out var m) && m.At + minute <= now)
            {
                _minute.Dequeue();
                _minuteTokens -= m.Tokens;
            }
            while (_day.TryPeek(out var d) && d + day <= now) _day.Dequeue();

            if (Options.RequestsPerDay > 0 && _day.Count >= Options.RequestsPerDay)
                return new(BudgetWindow.RequestsPerDay, Options.RequestsPerDay, _day.Count, 1, _day.Peek() + day - now);
            if (Options.RequestsPerMinute > 0 && _minute.Count >= Options.RequestsPerMinute)
                return new(BudgetWindow.RequestsPerMinute, Options.RequestsPerMinute, _minute.Count, 1, _minute.Peek().At + minute - now);
            if (Options.TokensPerMinute > 0 && _minuteTokens + Math.Min(tokens, Options.TokensPerMinute) > Options.TokensPerMinute)
                return new(BudgetWindow.TokensPerMinute, Options.TokensPerMinute, _minuteTokens, tokens, TokensFreeAt(tokens, minute, now) - now);
            if (Options.RandomRefusalFraction > 0 && _random.NextDouble() < Options.RandomRefusalFraction)
                return new(BudgetWindow.RequestsPerMinute, Options.RequestsPerMinute, _minute.Count, 1, Options.RandomRetryAfter / Options.TimeScale, Busy: true);

            _minute.Enqueue((now, tokens));
            _minuteTokens += tokens;
            _day.Enqueue(now);
            return null;
        }
    }

    private DateTimeOffset TokensFreeAt(long tokens, TimeSpan minute, DateTimeOffset now)
    {
        var free = Options.TokensPerMinute - _minuteTokens;
        var need = Math.Min(tokens, Options.TokensPerMinute);
        foreach (var (at, spent) in _minute)
        {
            free += spent;
            if (free >= need) return at + minute;
        }
        return now + minute;
    }
}

/// <summary>Limits for <see cref="RateLimiter"/>; 0 turns a limit off.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests per minute (RPM).</summary>
    public int RequestsPerMinute { get; set; }
    /// <summary>Tokens per minute (TPM): prompt plus requested completion budget.</summary>
    public int TokensPerMinute { get; set; }
    /// <summary>Requests per day (RPD), a sliding day.</summary>
    public int RequestsPerDay { get; set; }
    /// <summary>Fraction (0–1) of otherwise admitted requests answered 429 anyway, with <see cref="RandomRetryAfter"/>.</summary>
    public double RandomRefusalFraction { get; set; }
    /// <summary>The retry-after of a random refusal (before scaling).</summary>
    public TimeSpan RandomRetryAfter { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Divides every window and wait (benchmarks run time K times faster; 1 is real time).</summary>
    public double TimeScale { get; set; } = 1;
    /// <summary>Seed of the random refusals (null: a random seed).</summary>
    public int? Seed { get; set; }
}
