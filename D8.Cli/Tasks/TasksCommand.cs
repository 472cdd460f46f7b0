using System.CommandLine;
using System.Text.Json;
using D8.Contracts;

namespace D8.Cli.Tasks;

/// <summary><c>d8 tasks</c>: lists recent tasks, optionally of one state.</summary>
public static class TasksCommand
{
    public static Command Create(CliContext ctx)
    {
        var state = new Option<TaskState?>("--state", "-s") { Description = "Only tasks in this state (queued, leased, succeeded, failed, cancelled)" };
        var limit = new Option<int>("--limit", "-n") { Description = "How many tasks", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Print the page as JSON" };
        var command = new Command("tasks", "List tasks") { state, limit, json };
        command.SetAction(async (parse, ct) =>
        {
            var client = ctx.CreateOrchestratorClient(parse);
            var page = await client.ListTasksAsync(parse.GetValue(state), parse.GetValue(limit), ct: ct);
            if (parse.GetValue(json))
            {
                await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(page, D8JsonContext.Default.TaskPage));
                return 0;
            }
            if (page.Items.Count == 0)
            {
                await ctx.Out.WriteLineAsync("no tasks");
                return 0;
            }
            ctx.Console.Write(TaskFormat.Table(page.Items, ctx.Env.Time.GetUtcNow()));
            return 0;
        });
        return command;
    }
}
