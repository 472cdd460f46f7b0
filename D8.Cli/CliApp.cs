using System.ClientModel;
using System.CommandLine;
using D8.Cli.Batch;
using D8.Cli.Bench;
using D8.Cli.Configuration;
using D8.Cli.Doctor;
using D8.Cli.Evolve;
using D8.Cli.Images;
using D8.Cli.Ollama;
using D8.Cli.Setup;
using D8.Cli.Status;
using D8.Cli.Tasks;
using D8.Cli.Workers;
using D8.Contracts;

namespace D8.Cli;

/// <summary>The d8 command line: builds the command tree and runs one command line, mapping every error to one line.</summary>
public static class CliApp
{
    /// <summary>Runs <paramref name="args"/> with output to <paramref name="output"/> and errors to <paramref name="error"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CliEnvironment env,
        CancellationToken ct = default)
    {
        var connection = new ConnectionOptions();
        var context = new CliContext(env, output, error, connection);
        var root = BuildRoot(context);
        var parse = root.Parse(args);
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
            }, ct);
        }
        catch (Exception e)
        {
            var (message, code) = Describe(e, ct);
            await error.WriteLineAsync("d8: " + message);
            return code;
        }
    }

    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("d8 — operate a D8 fleet: set up workers, check hosts, watch the fleet, submit tasks, benchmark.");
        context.Connection.AddTo(root);
        HelpNaming.UseToolName(root, "d8");
        root.Subcommands.Add(SetupCommand.Create(context));
        root.Subcommands.Add(JoinTokenCommand.Create(context));
        root.Subcommands.Add(DoctorCommand.Create(context));
        root.Subcommands.Add(StatusCommand.Create(context));
        root.Subcommands.Add(SubmitCommand.Create(context));
        root.Subcommands.Add(TasksCommand.Create(context));
        root.Subcommands.Add(TaskCommand.Create(context));
        root.Subcommands.Add(CancelCommand.Create(context));
        root.Subcommands.Add(WorkersCommand.Create(context));
        root.Subcommands.Add(EvolveCommand.Create(context));
        root.Subcommands.Add(BatchCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(OllamaCommand.Create(context));
        root.Subcommands.Add(ImagesCommand.Create(context));
        return root;
    }

    /// <summary>One line and an exit code for an error; never a stack trace.</summary>
    internal static (string Message, int ExitCode) Describe(Exception e, CancellationToken ct)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerExceptions[0];
        return e switch
        {
            CliException cli => (cli.Message, cli.ExitCode),
            OperationCanceledException when ct.IsCancellationRequested => ("cancelled", 130),
            OrchestratorException oe => (OrchestratorMessage(oe), 1),
            D8.Contracts.Trust.PlainHttpRefusedException plain => (plain.Message, D8.Contracts.Trust.PlainHttp.ExitCode),
            HttpRequestException he when TrustMessage(he) is { } trust => (trust, 1),
            HttpRequestException he => ("cannot connect: " + FirstLine(he.Message), 1),
            OperationCanceledException or TimeoutException => ("timed out waiting for an answer", 1),
            ClientResultException cre => ($"provider answered {cre.Status}: {FirstLine(cre.Message)}", 1),
            IOException io => (FirstLine(io.Message), 1),
            UnauthorizedAccessException ua => (FirstLine(ua.Message), 1),
            _ => ($"{e.GetType().Name}: {FirstLine(e.Message)}", 1),
        };
    }

    /// <summary>The orchestrator's problem text plus what to do about the common statuses.</summary>
    internal static string OrchestratorMessage(OrchestratorException e)
    {
        var hint = (int)e.Status switch
        {
            401 => " (check --api-key, D8_API_KEY or api_key in the config file)",
            403 => " (this key may not do that)",
            _ => "",
        };
        return "orchestrator answered " + FirstLine(e.Message) + hint;
    }

    /// <summary>A refused or untrusted orchestrator certificate, with what to set.</summary>
    private static string? TrustMessage(HttpRequestException e)
    {
        if (D8.Contracts.Trust.PinnedTrust.Explain(e, new Uri("https://orchestrator/")) is not { } trust) return null;
        return $"the orchestrator's certificate was refused ({trust.Failure}): {trust.Message}" +
               (trust.Failure == D8.Contracts.Trust.TrustFailure.Foreign ? " (for its own CA set D8_ORCHESTRATOR_PIN: d8 join-token --pin on the orchestrator host)" : "");
    }

    internal static string FirstLine(string text)
    {
        var i = text.IndexOfAny(['\r', '\n']);
        return (i < 0 ? text : text[..i]).Trim();
    }
}
