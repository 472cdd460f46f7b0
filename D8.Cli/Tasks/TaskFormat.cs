using System.Globalization;
using System.Text.Json;
using D8.Contracts;
using Spectre.Console;

namespace D8.Cli.Tasks;

/// <summary>How tasks look on the terminal and as JSON.</summary>
public static class TaskFormat
{
    /// <summary>Wire name of a state (<see cref="WireNames"/>).</summary>
    public static string Name(TaskState state) => WireNames.Of(state);

    /// <summary>The task's user prompt (last user message), shortened for a table cell.</summary>
    public static string PromptOf(TaskView task, int max = 40)
    {
        var text = task.Messages.LastOrDefault(m => m.Role == "user")?.Content ?? task.Messages.LastOrDefault()?.Content ?? "";
        text = text.ReplaceLineEndings(" ");
        return text.Length <= max ? text : text[..(max - 1)] + "…";
    }

    public static string Ago(DateTimeOffset at, DateTimeOffset now)
    {
        var d = now - at;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero;
        return d.TotalSeconds < 60 ? $"{d.TotalSeconds:0}s ago"
            : d.TotalMinutes < 60 ? $"{d.TotalMinutes:0}m ago"
            : d.TotalHours < 48 ? $"{d.TotalHours:0}h ago"
            : $"{d.TotalDays:0}d ago";
    }

    public static string Number(double? value, string format = "0.0") =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>A table of tasks, newest first as the orchestrator returned them.</summary>
    public static Table Table(IEnumerable<TaskView> tasks, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("ID", "STATE", "MODEL", "PROVIDER", "WORKER", "ATTEMPTS", "CREATED", "PROMPT");
        foreach (var t in tasks)
        {
            table.AddRow(
                Markup.Escape(t.Id), Markup.Escape(Name(t.State)), Markup.Escape(t.Model ?? t.Result?.Model ?? "-"),
                Markup.Escape(t.Provider ?? t.Result?.Provider ?? "-"), Markup.Escape(t.Result?.WorkerName ?? t.LeasedBy ?? "-"),
                $"{t.Attempts}/{t.MaxAttempts}", Ago(t.CreatedAt, now), Markup.Escape(PromptOf(t)));
        }
        return table;
    }

    /// <summary>All of one task: its facts as a grid, then its result text.</summary>
    public static void WriteDetails(IAnsiConsole console, TaskView t, DateTimeOffset now)
    {
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string k, string? v) { if (!string.IsNullOrEmpty(v)) grid.AddRow(k, Markup.Escape(v)); }
        Row("id", t.Id);
        Row("state", Name(t.State));
        Row("model", t.Model ?? "(any)");
        Row("provider", t.Provider ?? "(any)");
        Row("priority", t.Priority.ToString(CultureInfo.InvariantCulture));
        Row("attempts", $"{t.Attempts}/{t.MaxAttempts}");
        Row("created", $"{t.CreatedAt:u} ({Ago(t.CreatedAt, now)})");
        Row("updated", $"{t.UpdatedAt:u}");
        Row("leased by", t.LeasedBy);
        Row("reason", t.Reason);
        if (t.Result is { } r)
        {
            Row("worker", r.WorkerName ?? r.WorkerId);
            Row("ran on", $"{r.Provider}/{r.Model}");
            Row("tokens", r.Usage is { } u ? $"{u.PromptTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"} in, {u.CompletionTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"} out" : null);
            Row("first token", r.TimeToFirstTokenMs is { } ttft ? $"{ttft:0} ms" : null);
            Row("duration", r.DurationMs is { } ms ? $"{ms:0} ms" : null);
            Row("tokens/s", r.TokensPerSecond is { } tps ? tps.ToString("0.0", CultureInfo.InvariantCulture) : null);
            Row("finish", r.FinishReason);
        }
        foreach (var e in t.Errors)
        {
            Row($"attempt {e.Attempt}", $"{WireNames.Of(e.Kind)}: {e.Message}");
        }
        console.Write(grid);
        if (t.Result is { } result)
        {
            console.WriteLine();
            console.Write(new Text(result.Content));
            console.WriteLine();
        }
    }

    public static string Json(TaskView t) => JsonSerializer.Serialize(t, D8JsonContext.Default.TaskView);
}
