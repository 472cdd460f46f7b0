using System.Globalization;
using D8.Cli.Tasks;
using D8.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace D8.Cli.Status;

/// <summary>The fleet table and the queue counters, as one renderable.</summary>
public static class FleetView
{
    /// <summary>Workers (worker, provider, model, state, tokens/s, in-flight, last heartbeat) then the queue line.</summary>
    public static IRenderable Render(IReadOnlyList<WorkerView> workers, StatsView stats, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Simple).Title("fleet")
            .AddColumns("WORKER", "PROVIDER", "MODEL", "STATE", "TOKENS/S", "IN-FLIGHT", "LAST HEARTBEAT", "DONE/FAILED");
        foreach (var w in workers.OrderBy(w => w.State).ThenBy(w => w.Name, StringComparer.Ordinal))
        {
            var state = WireNames.Of(w.State);
            if (w.State == WorkerState.Online && !w.Healthy) state += " (unhealthy" + (w.Status is { } s ? ": " + s : "") + ")";
            if (w.CooldownUntil is { } until && until > now) state += $" (cooling {(until - now).TotalSeconds:0}s)";
            table.AddRow(
                Markup.Escape(w.Name), Markup.Escape(w.Provider), Markup.Escape(string.Join(",", w.Models)),
                Markup.Escape(state), TaskFormat.Number(w.TokensPerSecond),
                $"{w.InFlight}/{w.MaxConcurrency}", TaskFormat.Ago(w.LastHeartbeat, now),
                string.Create(CultureInfo.InvariantCulture, $"{w.TasksSucceeded}/{w.TasksFailed}"));
        }
        if (workers.Count == 0)
        {
            table.AddRow("(no workers registered)", "", "", "", "", "", "", "");
        }

        var queue = string.Join("  ", new[] { "queued", "leased", "succeeded", "failed", "cancelled" }
            .Select(k => $"{k} {(stats.Tasks.TryGetValue(k, out var n) ? n : 0)}"));
        if (stats.Unroutable > 0) queue += $"  unroutable {stats.Unroutable}";
        return new Rows(table, new Text("queue: " + queue));
    }
}
