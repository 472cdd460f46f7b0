using System.Diagnostics;
using System.Diagnostics.Metrics;
using D8.Contracts;

namespace D8.Worker.Telemetry;

/// <summary>The worker's ActivitySource and Meter ("D8.Worker").</summary>
public sealed class WorkerTelemetry : IDisposable
{
    public const string Name = "D8.Worker";

    private readonly Meter _meter;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Counter<long> _tasks;

    public WorkerTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _tokensPerSecond = _meter.CreateHistogram<double>("d8.worker.tokens_per_second", "{token}/s", "Generation speed of each run");
        _timeToFirstToken = _meter.CreateHistogram<double>("d8.worker.time_to_first_token", "s", "Time from request to first token");
        _tasks = _meter.CreateCounter<long>("d8.worker.tasks", "{task}", "Tasks run, by outcome");
    }

    public static ActivitySource Source { get; } = new(Name);

    /// <summary>Starts the run span as a child of the lease's trace context (the submitting request's trace).</summary>
    public static Activity? StartRun(TaskLease lease, string provider, string model)
    {
        ActivityContext.TryParse(lease.TraceParent, lease.TraceState, isRemote: true, out var parent);
        var activity = Source.StartActivity("d8.worker.run", ActivityKind.Internal, parent);
        activity?.SetTag("d8.task.id", lease.TaskId);
        activity?.SetTag("d8.task.attempt", lease.Attempt);
        activity?.SetTag("gen_ai.provider.name", provider);
        activity?.SetTag("gen_ai.request.model", model);
        return activity;
    }

    /// <summary>Records a finished run.</summary>
    public void Record(string outcome, double? tokensPerSecond, double? timeToFirstTokenMs)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _tasks.Add(1, tag);
        if (tokensPerSecond is { } tps) _tokensPerSecond.Record(tps);
        if (timeToFirstTokenMs is { } ttft) _timeToFirstToken.Record(ttft / 1000);
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
