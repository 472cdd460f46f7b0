using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using D8.Contracts;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// What the Aspire dashboard shows of evolution: a span per finished generation ("d8.evolution.generation", from its
/// first task to its last fitness, tagged with best/mean/diversity), a log line per generation and per run end, and
/// metrics on the "D8.Orchestrator" meter: d8.evolution.tasks (by kind and outcome), d8.evolution.best_fitness and
/// d8.evolution.generation (per run).
/// </summary>
public sealed partial class EvolutionTelemetry
{
    private readonly Counter<long> _tasks;
    private readonly Histogram<double> _generationDuration;
    private readonly ConcurrentDictionary<string, (double Best, int Generation)> _latest = new(StringComparer.Ordinal);
    private readonly ILogger<EvolutionTelemetry> _logger;

    public EvolutionTelemetry(IMeterFactory meters, ILogger<EvolutionTelemetry> logger)
    {
        _logger = logger;
        var meter = meters.Create(OrchestratorTelemetry.Name);
        _tasks = meter.CreateCounter<long>("d8.evolution.tasks", "{task}", "Evolution tasks issued and finished, by kind");
        _generationDuration = meter.CreateHistogram<double>("d8.evolution.generation.duration", "ms",
            "Time from a generation's first task to its last fitness");
        meter.CreateObservableGauge("d8.evolution.best_fitness", () => _latest.Select(kv =>
            new Measurement<double>(kv.Value.Best, new KeyValuePair<string, object?>("run", kv.Key))), "1", "Best fitness so far, per running evolution");
        meter.CreateObservableGauge("d8.evolution.generation", () => _latest.Select(kv =>
            new Measurement<int>(kv.Value.Generation, new KeyValuePair<string, object?>("run", kv.Key))), "{generation}", "Last complete generation, per running evolution");
    }

    internal void TaskIssued(string kind, bool reattached) =>
        _tasks.Add(1, new("kind", kind), new("event", reattached ? "reattached" : "issued"));

    internal void TaskFinished(string kind, bool succeeded) =>
        _tasks.Add(1, new("kind", kind), new("event", succeeded ? "succeeded" : "failed"));

    internal void GenerationDone(EvolutionRun run, GenerationSummary s, DateTimeOffset started, DateTimeOffset finished)
    {
        _generationDuration.Record((finished - started).TotalMilliseconds);
        var best = Math.Max(s.Best ?? 0, _latest.TryGetValue(run.Id, out var prev) ? prev.Best : 0);
        _latest[run.Id] = (best, s.Generation);
        using (var span = OrchestratorTelemetry.Source.StartActivity("d8.evolution.generation", ActivityKind.Internal,
                   parentContext: default, startTime: started))
        {
            span?.SetTag("d8.evolution.id", run.Id);
            span?.SetTag("d8.evolution.generation", s.Generation);
            span?.SetTag("d8.evolution.best", s.Best);
            span?.SetTag("d8.evolution.mean", s.Mean);
            span?.SetTag("d8.evolution.diversity", s.Diversity);
            span?.SetEndTime(finished.UtcDateTime);
        }
        LogGeneration(run.Id, s.Generation, s.Best ?? 0, s.Mean ?? 0, s.Diversity ?? 0, (finished - started).TotalSeconds);
    }

    internal void RunEnded(EvolutionRun run, EvolutionState state, string reason)
    {
        _latest.TryRemove(run.Id, out _);
        LogRunEnded(run.Id, EvolutionStateNames.Of(state), reason);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Evolution {RunId} generation {Generation} done: best {Best:0.000}, mean {Mean:0.000}, diversity {Diversity:0.00}, {Seconds:0.0} s")]
    private partial void LogGeneration(string runId, int generation, double best, double mean, double diversity, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Evolution {RunId} {State}: {Reason}")]
    private partial void LogRunEnded(string runId, string state, string reason);
}
