using System.Diagnostics.Metrics;

namespace D8.Orchestrator.Batches;

/// <summary>
/// The Batch API's figures (meter <c>D8.Batches</c>, on <c>/metrics</c>): batch lines by outcome as they are stored,
/// batches by end status, and the batches not yet ended with their live tasks.
/// </summary>
public sealed class BatchTelemetry
{
    public const string MeterName = "D8.Batches";

    private readonly Counter<long> _lines;
    private readonly Counter<long> _ended;

    public BatchTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _lines = meter.CreateCounter<long>("d8.batch.lines", "{line}",
            "Batch lines whose outcome was stored, by outcome (completed: output file; failed: error file, refused, cancelled or expired lines included)");
        _ended = meter.CreateCounter<long>("d8.batch.batches", "{batch}", "Batches that ended, by status (completed, failed, cancelled, expired)");
        meter.CreateObservableGauge("d8.batch.running", () => (long)(Running?.Invoke().Batches ?? 0), "{batch}", "Batches not yet ended");
        meter.CreateObservableGauge("d8.batch.live_tasks", () => (long)(Running?.Invoke().Tasks ?? 0), "{task}",
            "Tasks of running batches queued or running now (at most D8_BATCH_WINDOW per batch)");
    }

    /// <summary>Set by the service: its unfinished batches and their live tasks.</summary>
    internal Func<(int Batches, int Tasks)>? Running { get; set; }

    internal void Line(bool ok) => _lines.Add(1, new KeyValuePair<string, object?>("outcome", ok ? "completed" : "failed"));

    internal void Ended(string status) => _ended.Add(1, new KeyValuePair<string, object?>("status", status));
}
