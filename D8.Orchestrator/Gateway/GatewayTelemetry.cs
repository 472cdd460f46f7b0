using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// The OpenAI door's figures (meter <c>D8.Gateway</c>, on <c>/metrics</c>): calls by outcome, how long calls waited for a
/// worker, time to first token of streams, and the calls in flight and still queued right now.
/// </summary>
public sealed class GatewayTelemetry
{
    public const string MeterName = "D8.Gateway";

    private readonly Counter<long> _calls;
    private readonly Histogram<double> _wait;
    private readonly Histogram<double> _firstToken;
    private readonly ConcurrentDictionary<string, bool> _live = new(StringComparer.Ordinal);
    private readonly SchedulingEngine _engine;

    public GatewayTelemetry(IMeterFactory meters, SchedulingEngine engine)
    {
        _engine = engine;
        var meter = meters.Create(MeterName);
        _calls = meter.CreateCounter<long>("d8.gateway.calls", "{call}",
            "Finished /v1 chat calls by outcome (ok, rate_limited, model_not_found, invalid_request, failed, cancelled, disconnected) and stream");
        _wait = meter.CreateHistogram<double>("d8.gateway.wait", "ms",
            "Time a /v1 chat call waited before its answer began (queue, dispatch and, without streaming, the run)");
        _firstToken = meter.CreateHistogram<double>("d8.gateway.time_to_first_token", "ms",
            "Time from a streaming /v1 call's arrival to its first content sent");
        meter.CreateObservableGauge("d8.gateway.calls_in_flight", () => (long)_live.Count, "{call}", "Open /v1 chat calls");
        meter.CreateObservableGauge("d8.gateway.calls_queued", () => (long)Queued(), "{call}",
            "Open /v1 chat calls whose task still waits for a worker");
    }

    /// <summary>Open calls right now.</summary>
    public int InFlight => _live.Count;

    /// <summary>Open calls whose task is queued (not yet running on a worker).</summary>
    public int Queued() => _engine.CountQueued(_live.Keys);

    internal void Opened(string taskId) => _live[taskId] = true;

    internal void Closed(string taskId) => _live.TryRemove(taskId, out _);

    internal void Finished(string outcome, bool stream) =>
        _calls.Add(1, new("outcome", outcome), new("stream", stream));

    internal void Waited(TimeSpan wait, bool stream) => _wait.Record(wait.TotalMilliseconds, new KeyValuePair<string, object?>("stream", stream));

    internal void FirstToken(TimeSpan elapsed) => _firstToken.Record(elapsed.TotalMilliseconds);
}
