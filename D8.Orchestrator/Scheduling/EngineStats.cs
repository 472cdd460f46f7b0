using D8.Contracts;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>The engine's counters as /api/stats shows them (under the engine's lock).</summary>
internal static class EngineStats
{
    public static StatsView Of(EngineState s, string scheduler)
    {
        var tasks = new Dictionary<string, long>(5);
        for (var i = 0; i < 5; i++)
        {
            tasks[WireNames.Of((TaskState)i)] = s.Tasks.CountOf((TaskState)i);
        }
        var workers = new Dictionary<string, long>
        {
            ["online"] = 0, ["draining"] = 0, ["offline"] = 0, ["gone"] = 0,
        };
        foreach (var w in s.Workers.All)
        {
            workers[WireNames.Of(w.State)]++;
        }
        return new StatsView
        {
            Tasks = tasks,
            Workers = workers,
            Unroutable = s.Queues.Unroutable(),
            TokensReported = s.TokensReported,
            Now = s.Now,
            Scheduler = scheduler,
            DrainSeconds = s.Speeds.DrainSeconds(s.Now),
            Speculations = s.Leases.Copies,
            SpeculationsWon = s.Leases.CopiesWon,
        };
    }
}
