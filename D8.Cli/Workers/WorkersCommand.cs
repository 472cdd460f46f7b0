using System.CommandLine;

namespace D8.Cli.Workers;

/// <summary><c>d8 workers revoke ID</c>: an operator turns a worker away (API key).</summary>
public static class WorkersCommand
{
    public static Command Create(CliContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Worker id (d8 status --json lists them)" };
        var revoke = new Command("revoke",
            "Revoke a worker: its token stops working at once and its leases go back to the queue. It can register again " +
            "with the join token: rotate that too (D8_REVOKE_ON_JOIN_ROTATION) to keep it out") { id };
        revoke.SetAction(async (parse, ct) =>
        {
            var worker = parse.GetRequiredValue(id);
            await ctx.CreateOrchestratorClient(parse).RevokeWorkerAsync(worker, ct);
            await ctx.Out.WriteLineAsync($"revoked {worker}");
            return 0;
        });
        return new Command("workers", "Manage registered workers") { revoke };
    }
}
