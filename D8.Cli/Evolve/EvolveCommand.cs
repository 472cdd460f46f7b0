using System.CommandLine;
using System.Text.Json;
using D8.Contracts;
using Spectre.Console;

namespace D8.Cli.Evolve;

/// <summary><c>d8 evolve run|status|best|lineage|stop|list</c>: prompt evolution on the fleet.</summary>
public static class EvolveCommand
{
    public static Command Create(CliContext ctx)
    {
        var command = new Command("evolve", "Evolve system prompts on the fleet (mutation, crossover, evaluation as tasks)");
        command.Subcommands.Add(Run(ctx));
        command.Subcommands.Add(Status(ctx));
        command.Subcommands.Add(Best(ctx));
        command.Subcommands.Add(Lineage(ctx));
        command.Subcommands.Add(Stop(ctx));
        command.Subcommands.Add(List(ctx));
        return command;
    }

    private static Command Run(CliContext ctx)
    {
        var file = new Argument<string>("spec") { Description = "The spec file (YAML or JSON)" };
        var detach = new Option<bool>("--detach", "-d") { Description = "Print the run id and return instead of following it" };
        var interval = new Option<double>("--interval") { Description = "Seconds between progress updates", DefaultValueFactory = _ => 1 };
        var command = new Command("run", "Submit a spec and follow the run: progress, then a fitness chart and the best prompt") { file, detach, interval };
        command.SetAction(async (parse, ct) =>
        {
            var path = ctx.Env.ResolvePath(parse.GetRequiredValue(file));
            if (!File.Exists(path)) throw new CliException($"spec file not found: {path}");
            var spec = SpecFile.Parse(await File.ReadAllTextAsync(path, ct), Path.GetFileName(path));
            var client = ctx.CreateOrchestratorClient(parse);
            SubmitEvolutionResponse submitted;
            try
            {
                submitted = await client.SubmitEvolutionAsync(spec, ct);
            }
            catch (OrchestratorException e) when (e.Problem?.Errors is { Count: > 0 } errors)
            {
                await ctx.Err.WriteLineAsync($"d8: the orchestrator refused the spec ({errors.Sum(x => x.Value.Length)} problem(s)):");
                foreach (var (field, messages) in errors)
                {
                    foreach (var m in messages) await ctx.Err.WriteLineAsync($"  {field}: {m}");
                }
                return 2;
            }
            await ctx.Out.WriteLineAsync(submitted.Id);
            if (parse.GetValue(detach)) return 0;
            var view = await FollowAsync(ctx, client, submitted.Id, TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(interval))), ct);
            ctx.Console.Write(EvolveFormat.Chart(view));
            if (view.Best is { } best) ctx.Console.Write(EvolveFormat.Genome(best));
            ctx.Console.WriteLine();
            return view.State == EvolutionState.Completed ? 0 : 1;
        });
        return command;
    }

    /// <summary>Prints progress until the run ends: a live panel on a terminal, otherwise a line whenever something changed.</summary>
    private static async Task<EvolutionView> FollowAsync(CliContext ctx, OrchestratorClient client, string id, TimeSpan interval, CancellationToken ct)
    {
        var view = await client.GetEvolutionAsync(id, ct: ct);
        if (ctx.Env.Ansi)
        {
            await ctx.Console.Live(Panel(view)).StartAsync(async live =>
            {
                while (view.State == EvolutionState.Running)
                {
                    await Task.Delay(interval, ctx.Env.Time, ct);
                    view = await client.GetEvolutionAsync(id, ct: ct);
                    live.UpdateTarget(Panel(view));
                }
            });
            return view;
        }
        string? last = null;
        while (true)
        {
            var line = EvolveFormat.ProgressLine(view);
            if (line != last) await ctx.Out.WriteLineAsync(line);
            last = line;
            if (view.State != EvolutionState.Running)
            {
                if (view.StopReason is { } why) await ctx.Out.WriteLineAsync("reason: " + why);
                return view;
            }
            await Task.Delay(interval, ctx.Env.Time, ct);
            view = await client.GetEvolutionAsync(id, ct: ct);
        }
    }

    private static Spectre.Console.Rendering.IRenderable Panel(EvolutionView v) =>
        new Rows(new Text(EvolveFormat.ProgressLine(v)), EvolveFormat.Chart(v));

    private static Command Status(CliContext ctx) => ById(ctx, "status", "A run's progress and fitness per generation", async (client, id, json, ct) =>
    {
        var view = await client.GetEvolutionAsync(id, ct: ct);
        if (json) await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(view, D8JsonContext.Default.EvolutionView));
        else
        {
            ctx.Console.Write(EvolveFormat.Status(view));
            ctx.Console.Write(EvolveFormat.Chart(view));
        }
    });

    private static Command Best(CliContext ctx)
    {
        var maxTokens = new Option<long?>("--max-tokens") { Description = "The best genome on the front costing at most N tokens per evaluation" };
        var command = ById(ctx, "best", "The best genome so far (its prompt on stdout)", async (client, id, json, parse, ct) =>
        {
            var best = await client.GetBestGenomeAsync(id, parse.GetValue(maxTokens), ct);
            if (json)
            {
                await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(best, D8JsonContext.Default.GenomeView));
                return;
            }
            await ctx.Out.WriteLineAsync(best.Prompt);
            await ctx.Err.WriteLineAsync($"[{best.Id} · generation {best.Generation} · fitness {EvolveFormat.F(best.Fitness)} · {best.TokensPerEvaluation?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} tokens/evaluation · {best.Operator}]");
        });
        command.Options.Add(maxTokens);
        return command;
    }

    private static Command Lineage(CliContext ctx) => ById(ctx, "lineage", "Every genome with parents, operator and scores, as JSON", async (client, id, _, ct) =>
        await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(await client.GetLineageAsync(id, ct), D8JsonContext.Default.LineageView)));

    private static Command Stop(CliContext ctx) => ById(ctx, "stop", "Stop a running run (its queued tasks are cancelled)", async (client, id, json, ct) =>
    {
        var view = await client.StopEvolutionAsync(id, ct);
        await ctx.Out.WriteLineAsync(json ? JsonSerializer.Serialize(view, D8JsonContext.Default.EvolutionView) : EvolveFormat.ProgressLine(view));
    });

    private static Command List(CliContext ctx)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var limit = new Option<int>("--limit", "-n") { Description = "How many runs (1-500)", DefaultValueFactory = _ => 50 };
        var command = new Command("list", "The newest runs first") { json, limit };
        command.SetAction(async (parse, ct) =>
        {
            var runs = await ctx.CreateOrchestratorClient(parse).ListEvolutionsAsync(parse.GetValue(limit), ct);
            if (parse.GetValue(json)) await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(runs, D8JsonContext.Default.IReadOnlyListEvolutionView));
            else foreach (var r in runs) await ctx.Out.WriteLineAsync(EvolveFormat.ProgressLine(r));
            return 0;
        });
        return command;
    }

    private static Command ById(CliContext ctx, string name, string description, Func<OrchestratorClient, string, bool, CancellationToken, Task> act) =>
        ById(ctx, name, description, (client, id, json, _, ct) => act(client, id, json, ct));

    private static Command ById(CliContext ctx, string name, string description, Func<OrchestratorClient, string, bool, ParseResult, CancellationToken, Task> act)
    {
        var id = new Argument<string>("id") { Description = "Evolution run id" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command(name, description) { id, json };
        command.SetAction(async (parse, ct) =>
        {
            await act(ctx.CreateOrchestratorClient(parse), parse.GetRequiredValue(id), parse.GetValue(json), parse, ct);
            return 0;
        });
        return command;
    }
}
