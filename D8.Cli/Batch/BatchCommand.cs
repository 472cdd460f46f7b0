using System.ClientModel;
using System.ClientModel.Primitives;
using System.CommandLine;
using System.Text.Json;
using D8.Contracts.OpenAi;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

namespace D8.Cli.Batch;

#pragma warning disable OPENAI001 // the Batch client is experimental in the 2.x SDK

/// <summary>
/// <c>d8 batch submit|status|list|cancel|results</c>: the orchestrator's OpenAI Batch API through the official OpenAI
/// SDK (same connection settings and certificate pin as every other command).
/// </summary>
public static class BatchCommand
{
    public static Command Create(CliContext ctx)
    {
        var command = new Command("batch", "Run a JSONL file of OpenAI chat requests as a batch on the fleet (/v1/batches)");
        command.Subcommands.Add(Submit(ctx));
        command.Subcommands.Add(ById(ctx, "status", "A batch's status and request counts", async (c, id, json, ct) =>
        {
            var batch = await c.GetAsync(id, ct);
            await ctx.Out.WriteLineAsync(json ? JsonSerializer.Serialize(batch, BatchWireContext.Default.OpenAiBatch) : BatchFormat.Line(batch));
            return 0;
        }));
        command.Subcommands.Add(List(ctx));
        command.Subcommands.Add(ById(ctx, "cancel", "Cancel a batch (lines not yet run go to its error file as batch_cancelled)", async (c, id, json, ct) =>
        {
            var batch = await c.CancelAsync(id, ct);
            await ctx.Out.WriteLineAsync(json ? JsonSerializer.Serialize(batch, BatchWireContext.Default.OpenAiBatch) : BatchFormat.Line(batch));
            return 0;
        }));
        command.Subcommands.Add(Results(ctx));
        return command;
    }

    private static Command Submit(CliContext ctx)
    {
        var file = new Argument<string>("file") { Description = "JSONL file: one {custom_id, method, url, body} request per line" };
        var wait = new Option<bool>("--wait", "-w") { Description = "Follow the batch until it ends, then print where its results are" };
        var metadata = new Option<string[]>("--metadata") { Description = "key=value kept with the batch (d8_priority=0-9 sets its tasks' priority)", AllowMultipleArgumentsPerToken = true };
        var interval = new Option<double>("--interval") { Description = "With --wait: seconds between status checks", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print the batch as JSON" };
        var command = new Command("submit", "Upload a JSONL file and start a batch over it; prints the batch id") { file, wait, metadata, interval, json };
        command.SetAction(async (parse, ct) =>
        {
            var path = ctx.Env.ResolvePath(parse.GetRequiredValue(file));
            if (!File.Exists(path)) throw new CliException($"batch file not found: {path}");
            var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in parse.GetValue(metadata) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) throw new CliException($"--metadata '{pair}' must be key=value");
                pairs[pair[..eq]] = pair[(eq + 1)..];
            }
            var client = Connect(ctx, parse);
            var batch = await client.SubmitAsync(path, pairs, ct);
            if (!parse.GetValue(wait))
            {
                await ctx.Out.WriteLineAsync(parse.GetValue(json) ? JsonSerializer.Serialize(batch, BatchWireContext.Default.OpenAiBatch) : batch.Id);
                return 0;
            }
            await ctx.Err.WriteLineAsync(batch.Id);
            var every = TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(interval)));
            string? last = null;
            while (true)
            {
                var line = BatchFormat.Line(batch);
                if (line != last) await ctx.Err.WriteLineAsync(line);
                last = line;
                if (BatchStatus.IsTerminal(batch.Status)) break;
                await Task.Delay(every, ctx.Env.Time, ct);
                batch = await client.GetAsync(batch.Id, ct);
            }
            await ctx.Out.WriteLineAsync(parse.GetValue(json) ? JsonSerializer.Serialize(batch, BatchWireContext.Default.OpenAiBatch) : BatchFormat.Files(batch));
            return batch.Status == BatchStatus.Completed ? 0 : 1;
        });
        return command;
    }

    private static Command List(CliContext ctx)
    {
        var limit = new Option<int>("--limit", "-n") { Description = "How many batches (1-100)", DefaultValueFactory = _ => 20 };
        var after = new Option<string?>("--after") { Description = "Start after this batch id (the previous page's last)" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command("list", "Batches, newest first") { limit, after, json };
        command.SetAction(async (parse, ct) =>
        {
            var page = await Connect(ctx, parse).ListAsync(parse.GetValue(after), parse.GetValue(limit), ct);
            if (parse.GetValue(json))
            {
                await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(page, BatchWireContext.Default.OpenAiListOpenAiBatch));
                return 0;
            }
            foreach (var batch in page.Data) await ctx.Out.WriteLineAsync(BatchFormat.Line(batch));
            if (page.HasMore) await ctx.Err.WriteLineAsync($"more: d8 batch list --after {page.LastId}");
            return 0;
        });
        return command;
    }

    private static Command Results(CliContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Batch id" };
        var errors = new Option<bool>("--errors") { Description = "The error file instead of the output file" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of standard output" };
        var command = new Command("results", "A batch's output file (or its error file), one JSON line per request") { id, errors, output };
        command.SetAction(async (parse, ct) =>
        {
            var client = Connect(ctx, parse);
            var batch = await client.GetAsync(parse.GetRequiredValue(id), ct);
            var fileId = parse.GetValue(errors) ? batch.ErrorFileId : batch.OutputFileId;
            if (fileId is null)
            {
                throw new CliException(BatchStatus.IsTerminal(batch.Status)
                    ? $"batch {batch.Id} ({batch.Status}) has no {(parse.GetValue(errors) ? "error" : "output")} file"
                    : $"batch {batch.Id} is {batch.Status}: its files are written when it ends (d8 batch submit --wait follows it)");
            }
            var content = await client.DownloadAsync(fileId, ct);
            if (parse.GetValue(output) is { } target)
            {
                await File.WriteAllBytesAsync(ctx.Env.ResolvePath(target), content.ToArray(), ct);
                await ctx.Err.WriteLineAsync($"wrote {content.ToMemory().Length} bytes to {target}");
            }
            else await ctx.Out.WriteAsync(content.ToString());
            return 0;
        });
        return command;
    }

    private static Command ById(CliContext ctx, string name, string description, Func<BatchApi, string, bool, CancellationToken, Task<int>> act)
    {
        var id = new Argument<string>("id") { Description = "Batch id" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var command = new Command(name, description) { id, json };
        command.SetAction((parse, ct) => act(Connect(ctx, parse), parse.GetRequiredValue(id), parse.GetValue(json), ct));
        return command;
    }

    private static BatchApi Connect(CliContext ctx, ParseResult parse)
    {
        var orchestrator = ctx.CreateOrchestratorClient(parse);
        var http = orchestrator.Http;
        var key = new ApiKeyCredential(orchestrator.ApiKey ?? "none");
        var endpoint = new Uri(http.BaseAddress!, "v1");
        var transport = new HttpClientPipelineTransport(http);
        return new BatchApi(
            new OpenAIFileClient(key, new OpenAIClientOptions { Endpoint = endpoint, Transport = transport }),
            new BatchClient(key, new BatchClientOptions { Endpoint = endpoint, Transport = transport }));
    }
}
