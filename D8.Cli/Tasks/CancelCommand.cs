using System.CommandLine;
using D8.Contracts;

namespace D8.Cli.Tasks;

/// <summary><c>d8 cancel ID</c>: cancels a queued or running task.</summary>
public static class CancelCommand
{
    public static Command Create(CliContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Task id" };
        var json = new Option<bool>("--json") { Description = "Print the task as JSON" };
        var command = new Command("cancel", "Cancel a task (a running one is stopped at the worker's next heartbeat)") { id, json };
        command.SetAction(async (parse, ct) =>
        {
            var client = ctx.CreateOrchestratorClient(parse);
            var task = await client.CancelAsync(parse.GetRequiredValue(id), ct);
            if (parse.GetValue(json))
            {
                await ctx.Out.WriteLineAsync(TaskFormat.Json(task));
                return 0;
            }
            if (task.State == TaskState.Cancelled)
            {
                await ctx.Out.WriteLineAsync($"cancelled {task.Id}");
                return 0;
            }
            // Already finished: nothing was cancelled, which the caller needs to know.
            await ctx.Err.WriteLineAsync($"d8: task {task.Id} was already {TaskFormat.Name(task.State)}; nothing to cancel");
            return 1;
        });
        return command;
    }
}
