using System.CommandLine;
using D8.Contracts.Trust;

namespace D8.Cli.Setup;

/// <summary>
/// <c>d8 join-token</c>: prints the orchestrator's join token (D8J1-&lt;pin&gt;::&lt;secret&gt;) for the operator to copy to a
/// worker host, run on the orchestrator host. Reads it from the orchestrator's TLS folder (<c>--tls-dir</c>), or asks the
/// compose orchestrator (<c>docker compose exec orchestrator /app/D8.Orchestrator join-token</c>). <c>--pin</c> prints only
/// the CA fingerprint, which is not secret.
/// </summary>
public static class JoinTokenCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    public static Command Create(CliContext ctx)
    {
        var tlsDir = new Option<string?>("--tls-dir") { Description = "The orchestrator's TLS folder (default: ask the compose orchestrator)" };
        var composeFile = new Option<string>("--compose-file") { Description = "Compose file of the orchestrator", DefaultValueFactory = _ => SetupWorkerCommand.DefaultComposeFile };
        var envFile = new Option<string>("--env-file") { Description = "Its .env", DefaultValueFactory = _ => ".env" };
        var pinOnly = new Option<bool>("--pin") { Description = "Print only the CA fingerprint (64 hex digits, for D8_ORCHESTRATOR_PIN), not the secret" };
        var command = new Command("join-token", "Print the join token workers need (the orchestrator's CA pin + the join secret); run it on the orchestrator host");
        foreach (var option in new Option[] { tlsDir, composeFile, envFile, pinOnly }) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            var text = parse.GetValue(tlsDir) is { } dir
                ? await ReadFileAsync(ctx.Env.ResolvePath(Path.Combine(dir, "join-token")), ct)
                : await AskComposeAsync(ctx, parse.GetRequiredValue(composeFile), parse.GetRequiredValue(envFile), ct);
            var line = text.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.StartsWith(JoinToken.Prefix, StringComparison.Ordinal));
            if (line is null || !JoinToken.TryParse(line, out var token, out _) || !token.IsPinned)
            {
                throw new CliException("no pinned join token found: is TLS on for this orchestrator (D8_TLS)?");
            }
            await ctx.Out.WriteLineAsync(parse.GetValue(pinOnly) ? token.Pin : line);
            return 0;
        });
        return command;
    }

    private static async Task<string> ReadFileAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path)) throw new CliException($"{path} does not exist: start the orchestrator once with TLS on");
        return await File.ReadAllTextAsync(path, ct);
    }

    private static async Task<string> AskComposeAsync(CliContext ctx, string composeFile, string envFile, CancellationToken ct)
    {
        string[] exec = ["-f", composeFile, "--env-file", envFile, "exec", "-T", "orchestrator", "/app/D8.Orchestrator", "join-token"];
        var commands = ctx.Env.System.Commands;
        var result = await commands.RunAsync("docker", ["compose", .. exec], Timeout, ct);
        if (result.NotFound || (result.ExitCode != 0 && result.StdErr.Contains("is not a docker command", StringComparison.Ordinal)))
        {
            result = await commands.RunAsync("docker-compose", exec, Timeout, ct);
        }
        if (result.ExitCode != 0)
        {
            throw new CliException("could not ask the orchestrator container: " + CliApp.FirstLine(result.StdErr.Length > 0 ? result.StdErr : result.StdOut) +
                " (run this where the orchestrator's compose project is, or pass --tls-dir)");
        }
        return result.StdOut;
    }
}
