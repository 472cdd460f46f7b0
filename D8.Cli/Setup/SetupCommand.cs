using System.CommandLine;

namespace D8.Cli.Setup;

/// <summary><c>d8 setup</c>: groups the setup subcommands (today: worker).</summary>
public static class SetupCommand
{
    public static Command Create(CliContext ctx)
    {
        var command = new Command("setup", "Set up this machine");
        command.Subcommands.Add(SetupWorkerCommand.Create(ctx));
        return command;
    }
}
