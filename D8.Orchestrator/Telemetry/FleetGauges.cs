using System.Diagnostics.Metrics;
using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Telemetry;

/// <summary>
/// Per-worker figures read from the engine's public fleet view when a metrics reader collects (no engine hooks):
/// last tokens/s, tasks in flight, cooldown, and workers by state. Meter "D8.Orchestrator.Fleet".
/// </summary>
public sealed class FleetGauges : IDisposable
{
    public const string MeterName = "D8.Orchestrator.Fleet";

    private readonly Meter _meter;

    public FleetGauges(IMeterFactory meters, SchedulingEngine engine, TimeProvider time)
    {
        _meter = meters.Create(MeterName);
        IEnumerable<WorkerView> Active() => engine.Workers().Where(w => w.State != WorkerState.Gone);
        _meter.CreateObservableGauge("d8.fleet.tokens_per_second", () => Active()
            .Where(w => w.TokensPerSecond is not null)
            .Select(w => new Measurement<double>(w.TokensPerSecond!.Value, Tags(w.Name, w.Provider))),
            "{token}/s", "Last generation speed each worker reported");
        _meter.CreateObservableGauge("d8.fleet.in_flight", () => Active()
            .Select(w => new Measurement<int>(w.InFlight, Tags(w.Name, w.Provider))),
            "{task}", "Tasks each worker runs now");
        _meter.CreateObservableGauge("d8.fleet.cooldown", () => Active()
            .Select(w => new Measurement<double>(
                w.CooldownUntil is { } until && until > time.GetUtcNow() ? (until - time.GetUtcNow()).TotalSeconds : 0,
                Tags(w.Name, w.Provider))),
            "s", "Seconds of cooldown left (a 429 or a spent daily budget)");
        _meter.CreateObservableGauge("d8.fleet.workers", () => engine.Workers()
            .GroupBy(w => w.State)
            .Select(g => new Measurement<int>(g.Count(), new KeyValuePair<string, object?>("state", WireNames.Of(g.Key)))),
            "{worker}", "Registered workers by state");
    }

    private static KeyValuePair<string, object?>[] Tags(string worker, string provider) =>
        [new("worker", worker), new("provider", provider)];

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
