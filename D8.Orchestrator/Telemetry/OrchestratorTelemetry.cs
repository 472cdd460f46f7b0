using System.Diagnostics;
using System.Diagnostics.Metrics;
using D8.Contracts;

namespace D8.Orchestrator.Telemetry;

/// <summary>The orchestrator's ActivitySource and Meter (both named "D8.Orchestrator").</summary>
public sealed class OrchestratorTelemetry
{
    public const string Name = "D8.Orchestrator";

    /// <summary>Spans for submit, lease, complete and fail.</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly Histogram<double> _dispatchLatency;
    private readonly Histogram<double> _taskDuration;
    private readonly Histogram<int> _attempts;
    private readonly Counter<long> _tokens;
    private Func<long[]>? _stateCounts;

    public OrchestratorTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _dispatchLatency = meter.CreateHistogram<double>("d8.dispatch.latency", "ms",
            "Time from a task becoming leasable to a worker receiving it");
        _taskDuration = meter.CreateHistogram<double>("d8.task.duration", "ms",
            "Time from lease to the worker's final report");
        _attempts = meter.CreateHistogram<int>("d8.task.attempts", "{attempt}", "Attempts a task used before it ended");
        _tokens = meter.CreateCounter<long>("d8.tokens.reported", "{token}", "Tokens reported by workers");
        meter.CreateObservableGauge("d8.tasks.queue_depth", ObserveDepth, "{task}", "Tasks by state");
    }

    /// <summary>Set by the engine: a snapshot of task counts indexed by <see cref="TaskState"/>.</summary>
    internal void SetStateCounts(Func<long[]> counts) => _stateCounts = counts;

    internal void Dispatched(TimeSpan latency) => _dispatchLatency.Record(latency.TotalMilliseconds);

    internal void Finished(TaskState state, TimeSpan? runTime, int attempts)
    {
        var tag = new KeyValuePair<string, object?>("state", WireNames.Of(state));
        if (runTime is { } d)
        {
            _taskDuration.Record(d.TotalMilliseconds, tag);
        }
        _attempts.Record(attempts, tag);
    }

    internal void TokensReported(TokenUsage? usage, string? provider)
    {
        var total = TokenTotals.Of(usage);
        if (total > 0)
        {
            _tokens.Add(total, new KeyValuePair<string, object?>("provider", provider ?? "unknown"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveDepth()
    {
        var counts = _stateCounts?.Invoke();
        if (counts is null) yield break;
        for (var i = 0; i < counts.Length; i++)
        {
            yield return new Measurement<long>(counts[i], new KeyValuePair<string, object?>("state", WireNames.Of((TaskState)i)));
        }
    }

    /// <summary>Starts a span, continuing the trace of the current request.</summary>
    internal static Activity? Start(string name, ActivityKind kind = ActivityKind.Internal) => Source.StartActivity(name, kind);
}
