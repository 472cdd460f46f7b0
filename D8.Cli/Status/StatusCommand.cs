using System.CommandLine;
using System.Text.Json;
using D8.Contracts;
using Spectre.Console;

namespace D8.Cli.Status;

/// <summary><c>d8 status [--watch]</c>: the fleet and the queue.</summary>
public static class StatusCommand
{
    public static Command Create(CliContext ctx)
    {
        var watch = new Option<bool>("--watch", "-w") { Description = "Refresh until Ctrl+C" };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes with --watch", DefaultValueFactory = _ => 2 };
        var json = new Option<bool>("--json") { Description = "Print workers and stats as JSON" };
        var command = new Command("status", "Show the fleet (workers, models, tokens/s, heartbeats) and the queue") { watch, interval, json };
        command.SetAction(async (parse, ct) =>
        {
            var client = ctx.CreateOrchestratorClient(parse, TimeSpan.FromSeconds(15));
            if (parse.GetValue(json))
            {
                var (w, s) = await FetchAsync(client, ct);
                await ctx.Out.WriteLineAsync(
                    $"{{\"workers\":{JsonSerializer.Serialize(w, D8JsonContext.Default.IReadOnlyListWorkerView)},\"stats\":{JsonSerializer.Serialize(s, D8JsonContext.Default.StatsView)}}}");
                return 0;
            }
            if (!parse.GetValue(watch))
            {
                var (w, s) = await FetchAsync(client, ct);
                ctx.Console.Write(FleetView.Render(w, s, s.Now == default ? ctx.Env.Time.GetUtcNow() : s.Now));
                return 0;
            }
            await WatchAsync(ctx, client, TimeSpan.FromSeconds(Math.Max(0.2, parse.GetValue(interval))), ct);
            return 0;
        });
        return command;
    }

    private static async Task<(IReadOnlyList<WorkerView>, StatsView)> FetchAsync(OrchestratorClient client, CancellationToken ct)
    {
        var workers = client.GetWorkersAsync(ct);
        var stats = client.GetStatsAsync(ct);
        return (await workers, await stats);
    }

    private static async Task WatchAsync(CliContext ctx, OrchestratorClient client, TimeSpan interval, CancellationToken ct)
    {
        var (w, s) = await FetchAsync(client, ct);
        try
        {
            await ctx.Console.Live(FleetView.Render(w, s, ctx.Env.Time.GetUtcNow())).StartAsync(async live =>
            {
                using var timer = new PeriodicTimer(interval, ctx.Env.Time);
                while (await timer.WaitForNextTickAsync(ct))
                {
                    (w, s) = await FetchAsync(client, ct);
                    live.UpdateTarget(FleetView.Render(w, s, ctx.Env.Time.GetUtcNow()));
                }
            });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl+C is how --watch ends; that is success.
        }
    }
}
