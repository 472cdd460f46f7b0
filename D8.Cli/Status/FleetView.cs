using System.Globalization;
using D8.Cli.Tasks;
using D8.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace D8.Cli.Status;

/// <summary>The fleet table and the queue counters, as one renderable.</summary>
public static class FleetView
{
    /// <summary>Workers (worker, provider, model, state, measured speed, budget left, in-flight, last heartbeat) then
    /// the queue line with its expected time to drain.</summary>
    public static IRenderable Render(IReadOnlyList<WorkerView> workers, StatsView stats, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Simple).Title("fleet")
            .AddColumns("WORKER", "PROVIDER", "MODEL", "STATE", "TOKENS/S", "BUDGET LEFT", "IN-FLIGHT", "LAST HEARTBEAT", "DONE/FAILED");
        foreach (var w in workers.OrderBy(w => w.State).ThenBy(w => w.Name, StringComparer.Ordinal))
        {
            var state = WireNames.Of(w.State);
            if (w.State == WorkerState.Online && !w.Healthy) state += " (unhealthy" + (w.Status is { } s ? ": " + s : "") + ")";
            if (w.CooldownUntil is { } until && until > now) state += $" (cooling {(until - now).TotalSeconds:0}s)";
            else if (w.BudgetReadyAt is { } ready && ready > now) state += $" (budget in {(ready - now).TotalSeconds:0}s)";
            table.AddRow(
                Markup.Escape(w.Name), Markup.Escape(w.Provider), Markup.Escape(string.Join(",", w.Models)),
                Markup.Escape(state), Speed(w), Markup.Escape(Budget(w)),
                $"{w.InFlight}/{w.MaxConcurrency}", TaskFormat.Ago(w.LastHeartbeat, now),
                string.Create(CultureInfo.InvariantCulture, $"{w.TasksSucceeded}/{w.TasksFailed}"));
        }
        if (workers.Count == 0)
        {
            table.AddRow("(no workers registered)", "", "", "", "", "", "", "", "");
        }

        var queue = string.Join("  ", WireNames.TaskStates.Select(k => $"{k} {(stats.Tasks.TryGetValue(k, out var n) ? n : 0)}"));
        if (stats.Unroutable > 0) queue += $"  unroutable {stats.Unroutable}";
        var schedule = stats.Scheduler is null ? "" : $"scheduler {stats.Scheduler}" +
            (stats.DrainSeconds is { } drain ? string.Create(CultureInfo.InvariantCulture, $"  drains in ~{drain:0.#}s") : "  drain time unknown (no worker measured yet)") +
            (stats.Speculations > 0 ? $"  speculative copies {stats.Speculations} ({stats.SpeculationsWon} won)" : "");
        return schedule.Length == 0
            ? new Rows(table, new Text("queue: " + queue))
            : new Rows(table, new Text("queue: " + queue), new Text(schedule));
    }

    /// <summary>The learned speed (tokens/s of its best-measured model, with time to first token), else what the worker reported.</summary>
    private static string Speed(WorkerView w)
    {
        if (w.Speeds.OrderByDescending(s => s.Samples).FirstOrDefault() is { } s)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{s.TokensPerSecond:0.#} ({s.TimeToFirstTokenMs:0}ms)");
        }
        return TaskFormat.Number(w.TokensPerSecond);
    }

    /// <summary>What is left of each budget window: <c>rpm 3/5 tpm 5.2k/6k rpd 13/20</c>; "-" for none.</summary>
    private static string Budget(WorkerView w)
    {
        if (w.Budget.Count == 0) return "-";
        return string.Join(' ', w.Budget.Select(b => $"{BudgetWindow.ShortName(b.Window)} {Short(Math.Max(0, b.Limit - b.Used))}/{Short(b.Limit)}"));
    }

    private static string Short(long n) => n >= 10_000
        ? string.Create(CultureInfo.InvariantCulture, $"{n / 1000.0:0.#}k")
        : n.ToString(CultureInfo.InvariantCulture);
}
