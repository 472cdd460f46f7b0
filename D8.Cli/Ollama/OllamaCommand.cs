using System.CommandLine;
using System.Globalization;
using OllamaSharp.Models;
using Spectre.Console;

namespace D8.Cli.Ollama;

/// <summary><c>d8 ollama list|pull MODEL</c>: the models on an Ollama server, and pulling one with a progress bar.</summary>
public static class OllamaCommand
{
    public static Command Create(CliContext ctx)
    {
        var url = new Option<string?>("--ollama-url") { Description = $"Ollama endpoint (else $D8_OLLAMA_URL, else {OllamaEndpoint.DefaultUrl})", Recursive = true };
        var command = new Command("ollama", "Manage the models of an Ollama server") { url };

        var list = new Command("list", "List installed models");
        list.SetAction(async (parse, ct) =>
        {
            var endpoint = OllamaEndpoint.Resolve(parse.GetValue(url), ctx.Env, parse.GetValue(ctx.Connection.Config));
            using var client = OllamaEndpoint.CreateClient(ctx, endpoint, TimeSpan.FromSeconds(30));
            var models = (await client.ListLocalModelsAsync(ct)).ToList();
            if (models.Count == 0)
            {
                await ctx.Out.WriteLineAsync($"no models on {endpoint} (pull one: d8 ollama pull deepseek-coder:1.3b)");
                return 0;
            }
            var table = new Table().Border(TableBorder.Simple).AddColumns("NAME", "SIZE", "MODIFIED");
            foreach (var m in models.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                table.AddRow(Markup.Escape(m.Name), Size(m.Size), m.ModifiedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }
            ctx.Console.Write(table);
            return 0;
        });

        var model = new Argument<string>("model") { Description = "Model to pull, e.g. deepseek-coder:1.3b" };
        var pull = new Command("pull", "Pull a model, showing progress") { model };
        pull.SetAction(async (parse, ct) =>
        {
            var endpoint = OllamaEndpoint.Resolve(parse.GetValue(url), ctx.Env, parse.GetValue(ctx.Connection.Config));
            using var client = OllamaEndpoint.CreateClient(ctx, endpoint, Timeout.InfiniteTimeSpan);
            var name = parse.GetRequiredValue(model);
            var stream = client.PullModelAsync(new PullModelRequest { Model = name }, ct);
            var last = ctx.Env.Ansi
                ? await PullWithBarsAsync(ctx, name, stream)
                : await PullWithLinesAsync(ctx, stream);
            if (!string.Equals(last, "success", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliException($"pull of {name} ended with '{last ?? "no status"}' instead of success");
            }
            await ctx.Out.WriteLineAsync($"pulled {name}");
            return 0;
        });

        command.Subcommands.Add(list);
        command.Subcommands.Add(pull);
        return command;
    }

    /// <summary>On a terminal: one live progress bar per layer.</summary>
    private static async Task<string?> PullWithBarsAsync(CliContext ctx, string name, IAsyncEnumerable<PullModelResponse?> stream)
    {
        string? last = null;
        await ctx.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async progress =>
            {
                // One bar per layer digest: Ollama reports each blob separately.
                var bars = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                await foreach (var update in stream)
                {
                    if (update is null) continue;
                    last = update.Status;
                    if (update.Digest is { Length: > 0 } digest && update.Total > 0)
                    {
                        if (!bars.TryGetValue(digest, out var bar))
                        {
                            bar = progress.AddTask(Markup.Escape($"{name} {ShortDigest(digest)}"), maxValue: update.Total);
                            bars[digest] = bar;
                        }
                        bar.Value = update.Completed;
                    }
                }
                foreach (var bar in bars.Values) bar.Value = bar.MaxValue;
            });
        return last;
    }

    /// <summary>In a log or pipe: a line per status change and per quarter of each layer, so progress is visible without a terminal.</summary>
    private static async Task<string?> PullWithLinesAsync(CliContext ctx, IAsyncEnumerable<PullModelResponse?> stream)
    {
        string? last = null;
        var reported = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var update in stream)
        {
            if (update is null) continue;
            if (update.Digest is { Length: > 0 } digest && update.Total > 0)
            {
                var quarter = (int)(4 * update.Completed / update.Total);
                if (!reported.TryGetValue(digest, out var done) || quarter > done)
                {
                    reported[digest] = quarter;
                    await ctx.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{ShortDigest(digest)} {100.0 * update.Completed / update.Total,3:0}% of {Size(update.Total)}"));
                }
            }
            else if (update.Status != last && update.Status is not null)
            {
                await ctx.Out.WriteLineAsync(update.Status);
            }
            last = update.Status;
        }
        return last;
    }

    private static string ShortDigest(string digest) =>
        digest.StartsWith("sha256:", StringComparison.Ordinal) && digest.Length > 19 ? digest[7..19] : digest;

    internal static string Size(long bytes) =>
        bytes >= 1L << 30 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0} MB");
}
