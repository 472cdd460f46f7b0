using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace D8.Cli;

/// <summary>
/// Help says "d8" in its usage line whatever the host executable is called (D8.Cli under dotnet run), so the
/// usage users copy is the one that works once installed. Wraps the stock help action and renames its output.
/// </summary>
internal sealed class HelpNaming(HelpAction inner, string toolName) : SynchronousCommandLineAction
{
    public static void UseToolName(RootCommand root, string toolName)
    {
        if (root.Options.OfType<HelpOption>().FirstOrDefault() is { Action: HelpAction stock } help)
        {
            help.Action = new HelpNaming(stock, toolName);
        }
    }

    public override int Invoke(ParseResult parseResult)
    {
        var configuration = parseResult.InvocationConfiguration;
        var output = configuration.Output;
        using var captured = new StringWriter();
        configuration.Output = captured;
        int code;
        try
        {
            code = inner.Invoke(parseResult);
        }
        finally
        {
            configuration.Output = output;
        }
        var usage = "Usage:" + Environment.NewLine + "  ";
        output.Write(captured.ToString().Replace(usage + RootCommand.ExecutableName, usage + toolName, StringComparison.Ordinal));
        return code;
    }
}
