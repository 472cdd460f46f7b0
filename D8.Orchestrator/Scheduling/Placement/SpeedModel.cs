namespace D8.Orchestrator.Scheduling.Placement;

/// <summary>
/// What the orchestrator has learned of each worker's speed per model, from the figures completion reports carry
/// (output tokens, time to first token, duration): exponential moving averages of the decode rate (tokens/s per
/// request) and of the time to first token. Pure and in memory; speeds are relearned after a restart.
/// </summary>
public sealed class SpeedModel
{
    /// <summary>Weight of the newest sample in the moving averages.</summary>
    public const double Alpha = 0.3;

    private readonly Dictionary<(string Worker, string Model), Speed> _speeds = new();
    // Models known per worker: an unmeasured worker's speed is looked up on every placement and park, and must not
    // cost a scan of every measured worker's speeds (10,000 workers: one scan per task dominated the placement).
    private readonly Dictionary<string, int> _models = new(StringComparer.Ordinal);

    /// <summary>One worker's speed on one model. <see cref="Samples"/> is 0 when it is only an upper bound learned
    /// from a run that lost a speculation (it had not finished when a faster copy did).</summary>
    public sealed record Speed(double TokensPerSecond, double TimeToFirstTokenSeconds, long Samples)
    {
        /// <summary>Expected seconds to produce <paramref name="outputTokens"/> tokens in one request.</summary>
        public double SecondsFor(int outputTokens) => TimeToFirstTokenSeconds + outputTokens / TokensPerSecond;
    }

    /// <summary>Learns from one completed request. Reports without a usable duration or token count are ignored.</summary>
    public void Observe(string workerId, string model, int? outputTokens, double? ttftMs, double? durationMs, double? tokensPerSecond)
    {
        if (outputTokens is not > 0 || durationMs is not > 0)
        {
            return;
        }
        var ttft = Math.Clamp((ttftMs ?? 0) / 1000, 0, durationMs.Value / 1000);
        var decode = durationMs.Value / 1000 - ttft;
        var tps = tokensPerSecond is > 0 ? tokensPerSecond.Value : outputTokens.Value / Math.Max(decode, 1e-3);
        var key = (workerId, model);
        if (!_speeds.ContainsKey(key)) Known(workerId);
        _speeds[key] = _speeds.TryGetValue(key, out var old) && old.Samples > 0
            ? new Speed(Mix(old.TokensPerSecond, tps), Mix(old.TimeToFirstTokenSeconds, ttft), old.Samples + 1)
            : new Speed(tps, ttft, 1);
    }

    /// <summary>
    /// A run of <paramref name="outputTokens"/> tokens had not finished after <paramref name="elapsed"/>: the worker is
    /// at most that fast. Lowers (never raises) what is known.
    /// </summary>
    public void Bound(string workerId, string model, int outputTokens, TimeSpan elapsed)
    {
        if (elapsed <= TimeSpan.Zero || outputTokens <= 0)
        {
            return;
        }
        var key = (workerId, model);
        var ceiling = outputTokens / elapsed.TotalSeconds;
        if (!_speeds.TryGetValue(key, out var old))
        {
            Known(workerId);
            _speeds[key] = new Speed(ceiling, 0, 0);
        }
        else if (old.TokensPerSecond > ceiling)
        {
            _speeds[key] = old with { TokensPerSecond = ceiling };
        }
    }

    /// <summary>The speed of a worker on a model, or on any model it ran when this one was never measured; null if unknown.</summary>
    public Speed? Of(string workerId, string model)
    {
        if (_speeds.TryGetValue((workerId, model), out var speed))
        {
            return speed;
        }
        if (!_models.ContainsKey(workerId))
        {
            return null;
        }
        Speed? any = null;
        foreach (var ((worker, _), s) in _speeds)
        {
            if (worker == workerId && (any is null || s.Samples > any.Samples)) any = s;
        }
        return any;
    }

    /// <summary>Every measured model of a worker.</summary>
    public IEnumerable<(string Model, Speed Speed)> OfWorker(string workerId)
    {
        if (!_models.ContainsKey(workerId)) yield break;
        foreach (var ((worker, model), s) in _speeds)
        {
            if (worker == workerId) yield return (model, s);
        }
    }

    /// <summary>Forgets a worker (it left the fleet).</summary>
    public void Forget(string workerId)
    {
        if (!_models.Remove(workerId)) return;
        foreach (var key in _speeds.Keys.Where(k => k.Worker == workerId).ToList())
        {
            _speeds.Remove(key);
        }
    }

    private void Known(string workerId) => _models[workerId] = _models.GetValueOrDefault(workerId) + 1;

    private static double Mix(double old, double sample) => old + Alpha * (sample - old);
}
