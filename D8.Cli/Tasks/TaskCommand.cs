using System.CommandLine;

namespace D8.Cli.Tasks;

/// <summary><c>d8 task ID</c>: one task's state, attempts and result.</summary>
public static class TaskCommand
{
    public static Command Create(CliContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Task id" };
        var json = new Option<bool>("--json") { Description = "Print the task as JSON" };
        var wait = new Option<bool>("--wait", "-w") { Description = "Wait until the task has finished" };
        var command = new Command("task", "Show one task") { id, json, wait };
        command.SetAction(async (parse, ct) =>
        {
            var client = ctx.CreateOrchestratorClient(parse);
            var taskId = parse.GetRequiredValue(id);
            var task = parse.GetValue(wait)
                ? await TaskWaiter.WaitAsync(client, taskId, null, ctx.Env.Time, ct)
                : await client.GetTaskAsync(taskId, ct: ct);
            if (parse.GetValue(json))
            {
                await ctx.Out.WriteLineAsync(TaskFormat.Json(task));
            }
            else
            {
                TaskFormat.WriteDetails(ctx.Console, task, ctx.Env.Time.GetUtcNow());
            }
            return 0;
        });
        return command;
    }
}
