using Spectre.Console;

namespace D8.Cli.Verification;

/// <summary>Prints outcomes as "[pass] message" lines, with the fix on the next line when there is one.</summary>
public static class OutcomeWriter
{
    public static string Tag(OutcomeStatus status) => status switch
    {
        OutcomeStatus.Pass => "pass",
        OutcomeStatus.Warn => "warn",
        OutcomeStatus.Fail => "fail",
        _ => "skip",
    };

    public static void Write(IAnsiConsole console, string? name, Outcome outcome)
    {
        var colour = outcome.Status switch
        {
            OutcomeStatus.Pass => "green",
            OutcomeStatus.Warn => "yellow",
            OutcomeStatus.Fail => "red",
            _ => "grey",
        };
        var label = name is null ? "" : Markup.Escape(name) + ": ";
        console.MarkupLine($"[{colour}][[{Tag(outcome.Status)}]][/] {label}{Markup.Escape(outcome.Message)}");
        if (outcome.Fix is { } fix && outcome.Status != OutcomeStatus.Pass)
        {
            console.MarkupLine($"       [grey]fix:[/] {Markup.Escape(fix)}");
        }
    }
}
