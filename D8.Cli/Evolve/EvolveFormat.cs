using System.Globalization;
using D8.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace D8.Cli.Evolve;

/// <summary>How evolution runs are printed: a progress line, a fitness-by-generation chart, the best genome.</summary>
public static class EvolveFormat
{
    public static string F(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "-";

    /// <summary>One line: state, generation, best/mean/diversity of the newest scored generation, tasks, budget spent.</summary>
    public static string ProgressLine(EvolutionView v)
    {
        var latest = v.History.LastOrDefault(h => h.Evaluated > 0);
        var budget = new List<string> { $"{v.TasksSubmitted} tasks" + (v.Budget?.MaxTasks is { } mt ? $"/{mt}" : "") };
        budget.Add($"{v.TokensUsed} tokens" + (v.Budget?.MaxTokens is { } mk ? $"/{mk}" : ""));
        return string.Create(CultureInfo.InvariantCulture,
            $"{v.Id} {EvolutionStateNames.Of(v.State)} · generation {v.Generation + 1}/{v.Generations} · best {F(v.Best?.Fitness)} · " +
            $"gen {latest?.Generation.ToString(CultureInfo.InvariantCulture) ?? "-"} best {F(latest?.Best)} mean {F(latest?.Mean)} diversity {F(latest?.Diversity)} · " +
            $"in flight {v.TasksInFlight} · spent {string.Join(", ", budget)}") + Learning(v) + Waiting(v);
    }

    /// <summary>
    /// " · validation 0.750 · front 3 · minibatch stopped 4 · cache hits 12": the parts that apply (validation once the
    /// best is validated, the front with pareto selection, the others when not 0).
    /// </summary>
    public static string Learning(EvolutionView v)
    {
        var parts = new List<string>();
        if (v.Best?.ValidationFitness is { } val) parts.Add("validation " + F(val));
        if (v.FrontSize is { } front) parts.Add(string.Create(CultureInfo.InvariantCulture, $"front {front}"));
        if (v.MinibatchRejections > 0) parts.Add(string.Create(CultureInfo.InvariantCulture, $"minibatch stopped {v.MinibatchRejections}"));
        if (v.CacheHits > 0) parts.Add(string.Create(CultureInfo.InvariantCulture, $"cache hits {v.CacheHits}"));
        return parts.Count == 0 ? "" : " · " + string.Join(" · ", parts);
    }

    /// <summary>" · waiting: 7 tasks: no registered worker serves kind 'evolve.mutate', provider 'ollama'", or "" when every task can be served.</summary>
    public static string Waiting(EvolutionView v) =>
        v.Unroutable is { Count: > 0 } waiting
            ? " · waiting: " + string.Join("; ", waiting.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Tasks} task{(w.Tasks == 1 ? "" : "s")}: {w.Reason}")))
            : "";

    /// <summary>Best and mean fitness per generation as a bar chart (scaled 0–100).</summary>
    public static IRenderable Chart(EvolutionView v)
    {
        // Spectre's bar chart cannot draw without bars.
        if (!v.History.Any(h => h.Best is not null)) return new Text("no genome fully scored yet" + Environment.NewLine);
        var chart = new BarChart().Label("best fitness by generation (×100)").WithMaxValue(100).Width(60);
        foreach (var h in v.History.Where(h => h.Best is not null))
        {
            chart.AddItem($"g{h.Generation}{(h.Complete ? "" : "*")}", Math.Round(h.Best!.Value * 100, 1), h.Complete ? Color.Green : Color.Yellow);
        }
        return chart;
    }

    public static IRenderable Status(EvolutionView v)
    {
        var table = new Table().AddColumns("generation", "scored", "best", "validation", "mean", "diversity", "best genome");
        foreach (var h in v.History)
        {
            table.AddRow(h.Generation.ToString(CultureInfo.InvariantCulture) + (h.Complete ? "" : "*"),
                h.Evaluated.ToString(CultureInfo.InvariantCulture), F(h.Best), F(h.BestValidation), F(h.Mean), F(h.Diversity), h.BestGenomeId ?? "-");
        }
        var rows = new List<IRenderable> { new Text(ProgressLine(v)) };
        if (v.StopReason is { } why) rows.Add(new Text("reason: " + why));
        rows.Add(table);
        return new Rows(rows);
    }

    public static IRenderable Genome(GenomeView g) => new Rows(
        new Text(string.Create(CultureInfo.InvariantCulture,
            $"{g.Id} · generation {g.Generation} · fitness {F(g.Fitness)} · {g.Operator}{(g.Fallback ? " (fallback copy)" : "")} · parents {(g.Parents.Count == 0 ? "-" : string.Join(", ", g.Parents))}")),
        new Text(g.Prompt ?? ""));
}
