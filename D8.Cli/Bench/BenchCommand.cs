using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using D8.Cli.Tasks;
using D8.Contracts;
using Spectre.Console;

namespace D8.Cli.Bench;

/// <summary>
/// <c>d8 bench</c>: runs N prompts through the orchestrator and reports time to first token, tokens/s
/// (median and spread) and success rate. The worker reports TTFT and tokens/s; the CLI adds end-to-end time.
/// </summary>
public static class BenchCommand
{
    public const string DefaultPrompt = "Write a Python function that returns the n-th Fibonacci number, with a short docstring.";

    public static Command Create(CliContext ctx)
    {
        var count = new Option<int>("--count", "-n") { Description = "Number of prompts", DefaultValueFactory = _ => 10 };
        var prompt = new Option<string>("--prompt") { Description = "Prompt to send each time", DefaultValueFactory = _ => DefaultPrompt };
        var model = new Option<string?>("--model", "-m") { Description = "Model to benchmark" };
        var provider = new Option<string?>("--provider", "-p") { Description = "Provider to benchmark" };
        var worker = new Option<string?>("--worker") { Description = "Worker name or id: benchmark its provider and default model" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Max tokens per answer", DefaultValueFactory = _ => 128 };
        var concurrency = new Option<int>("--concurrency", "-c") { Description = "Tasks in flight at once (1 measures one worker's speed)", DefaultValueFactory = _ => 1 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for each task", DefaultValueFactory = _ => 1800 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("bench", "Benchmark tokens/s and time to first token through the orchestrator")
        {
            count, prompt, model, provider, worker, maxTokens, concurrency, timeout, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var n = parse.GetValue(count);
            var parallel = parse.GetValue(concurrency);
            if (n < 1) throw new CliException("--count must be at least 1");
            if (parallel < 1) throw new CliException("--concurrency must be at least 1");
            var client = ctx.CreateOrchestratorClient(parse);

            var (wantModel, wantProvider, workerName) = (parse.GetValue(model), parse.GetValue(provider), parse.GetValue(worker));
            if (workerName is not null)
            {
                var all = await client.GetWorkersAsync(ct);
                var w = all.FirstOrDefault(x => x.Id == workerName) ?? all.FirstOrDefault(x => x.Name == workerName)
                    ?? throw new CliException($"no worker named '{workerName}' (see d8 status)");
                wantProvider ??= w.Provider;
                wantModel ??= w.Models.FirstOrDefault();
            }

            var request = new SubmitTaskRequest
            {
                Prompt = parse.GetRequiredValue(prompt),
                Model = wantModel,
                Provider = wantProvider,
                MaxTokens = parse.GetValue(maxTokens),
                Labels = new Dictionary<string, string> { ["bench"] = Guid.NewGuid().ToString("N")[..12] },
            };
            var perTask = TimeSpan.FromSeconds(parse.GetValue(timeout));
            var runs = new BenchRun[n];
            var wall = Stopwatch.StartNew();
            var finished = 0;
            async Task RunAllAsync(Action<BenchRun> onRun)
            {
                var next = -1;
                async Task Lane()
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < n)
                    {
                        runs[i] = await RunOneAsync(client, request, perTask, ctx.Env.Time, ct);
                        onRun(runs[i]);
                    }
                }
                await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, n)).Select(_ => Lane()));
            }
            if (ctx.Env.Ansi)
            {
                await ctx.Console.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var bar = progress.AddTask($"bench {n} prompts", maxValue: n);
                        await RunAllAsync(_ => bar.Increment(1));
                    });
            }
            else
            {
                // No terminal (a log, a pipe): one line per finished run instead of a bar. Not in --json, whose stdout is the report.
                var quiet = parse.GetValue(json);
                var gate = new Lock();
                await RunAllAsync(run =>
                {
                    if (quiet) return;
                    lock (gate)
                    {
                        var k = ++finished;
                        ctx.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"[{k}/{n}] {run.TaskId} {run.State} {TaskFormat.Number(run.TokensPerSecond)} tokens/s"));
                    }
                });
            }
            wall.Stop();

            var report = Build(runs, wantModel, wantProvider, workerName, wall.Elapsed.TotalSeconds);
            if (parse.GetValue(json))
            {
                await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(report, CliJsonContext.Default.BenchReport));
            }
            else
            {
                Write(ctx.Console, report);
            }
            return report.Succeeded == report.Requested ? 0 : 1;
        });
        return command;
    }

    private static async Task<BenchRun> RunOneAsync(OrchestratorClient client, SubmitTaskRequest request, TimeSpan timeout,
        TimeProvider time, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var submitted = await client.SubmitAsync(request, ct);
        TaskView done;
        try
        {
            done = await TaskWaiter.WaitAsync(client, submitted.Id, timeout, time, ct);
        }
        catch (CliException e)
        {
            // A task that outlives its budget counts as a failure of this run; stop it so it does not linger.
            try { await client.CancelAsync(submitted.Id, ct); } catch (OrchestratorException) { /* finished meanwhile */ }
            return new BenchRun(submitted.Id, "timeout", null, null, null, null, null, null, time.GetElapsedTime(started).TotalMilliseconds, e.Message);
        }
        var e2e = time.GetElapsedTime(started).TotalMilliseconds;
        var r = done.Result;
        var tps = r?.TokensPerSecond;
        if (tps is null && r?.Usage?.CompletionTokens is int tokens && r.DurationMs is double ms && ms > 0)
        {
            tps = tokens / (ms / 1000);
        }
        return new BenchRun(done.Id, TaskFormat.Name(done.State), r?.WorkerName ?? r?.WorkerId, r?.Provider, r?.Model,
            r?.TimeToFirstTokenMs, tps, r?.Usage?.CompletionTokens, e2e,
            done.State == TaskState.Succeeded ? null : done.Reason ?? done.Errors.LastOrDefault()?.Message);
    }

    /// <summary>Summarises the runs (only succeeded runs count for speed figures).</summary>
    public static BenchReport Build(IReadOnlyList<BenchRun> runs, string? model, string? provider, string? worker, double wallSeconds)
    {
        var ok = runs.Where(r => r.State == WireNames.Succeeded).ToList();
        return new BenchReport(runs.Count, ok.Count, runs.Count == 0 ? 0 : (double)ok.Count / runs.Count, model, provider, worker,
            Summary.Of(ok.Where(r => r.TimeToFirstTokenMs is not null).Select(r => r.TimeToFirstTokenMs!.Value)),
            Summary.Of(ok.Where(r => r.TokensPerSecond is not null).Select(r => r.TokensPerSecond!.Value)),
            Summary.Of(ok.Select(r => r.EndToEndMs)),
            wallSeconds, runs);
    }

    private static void Write(IAnsiConsole console, BenchReport report)
    {
        static string F(double? v, string fmt) => v is { } x ? x.ToString(fmt, CultureInfo.InvariantCulture) : "-";
        var table = new Table().Border(TableBorder.Simple)
            .Title(Markup.Escape($"bench: {report.Provider ?? "any provider"} / {report.Model ?? "any model"}"))
            .AddColumns("METRIC", "MEDIAN", "MEAN", "MIN", "MAX", "STDDEV", "P90", "N");
        void Row(string name, Summary s, string fmt) =>
            table.AddRow(name, F(s.Median, fmt), F(s.Mean, fmt), F(s.Min, fmt), F(s.Max, fmt), F(s.StdDev, fmt), F(s.P90, fmt),
                s.Count.ToString(CultureInfo.InvariantCulture));
        Row("tokens/s", report.TokensPerSecond, "0.0");
        Row("first token (ms)", report.TimeToFirstTokenMs, "0");
        Row("end to end (ms)", report.EndToEndMs, "0");
        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"success rate: {report.Succeeded}/{report.Requested} ({report.SuccessRate:P0})   wall time: {report.WallSeconds:0.0} s"));
        var workers = report.Runs.Where(r => r.Worker is not null).GroupBy(r => r.Worker!).Select(g => $"{g.Key} ×{g.Count()}");
        console.WriteLine("ran on: " + string.Join(", ", workers.DefaultIfEmpty("-")));
        foreach (var failed in report.Runs.Where(r => r.State != WireNames.Succeeded))
        {
            console.WriteLine($"  {failed.TaskId} {failed.State}: {failed.Error ?? "no reason given"}");
        }
    }
}
