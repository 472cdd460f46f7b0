using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using D8.Contracts;

namespace D8.Cli.Tasks;

/// <summary><c>d8 submit "prompt"</c>: queues a chat task; with --wait prints its result.</summary>
public static class SubmitCommand
{
    public static Command Create(CliContext ctx)
    {
        var prompt = new Argument<string>("prompt") { Description = "The user prompt; '-' reads it from standard input" };
        var model = new Option<string?>("--model", "-m") { Description = "Only workers serving this model may run it" };
        var provider = new Option<string?>("--provider", "-p") { Description = "Only workers of this provider (ollama, groq, gemini, openai)" };
        var system = new Option<string?>("--system") { Description = "System message put before the prompt" };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Upper bound on generated tokens" };
        var temperature = new Option<double?>("--temperature") { Description = "Sampling temperature" };
        var priority = new Option<int?>("--priority") { Description = "0 (lowest) to 9 (highest); default 5" };
        var json = new Option<bool>("--json") { Description = "Print the orchestrator's JSON answer" };
        var wait = new Option<bool>("--wait", "-w") { Description = "Wait for the task to finish and print its result" };
        var timeout = new Option<double?>("--timeout") { Description = "With --wait: give up after this many seconds (default: wait as long as it takes)" };

        var command = new Command("submit", "Submit a chat task") { prompt, model, provider, system, maxTokens, temperature, priority, json, wait, timeout };
        command.SetAction(async (parse, ct) =>
        {
            var text = parse.GetRequiredValue(prompt);
            if (text == "-")
            {
                text = await Console.In.ReadToEndAsync(ct);
            }
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new CliException("the prompt is empty");
            }
            var client = ctx.CreateOrchestratorClient(parse);
            var submitted = await client.SubmitAsync(new SubmitTaskRequest
            {
                Prompt = text,
                System = parse.GetValue(system),
                Model = parse.GetValue(model),
                Provider = parse.GetValue(provider),
                MaxTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                Priority = parse.GetValue(priority),
            }, ct);

            if (!parse.GetValue(wait))
            {
                await ctx.Out.WriteLineAsync(parse.GetValue(json)
                    ? JsonSerializer.Serialize(submitted, D8JsonContext.Default.SubmitTaskResponse)
                    : submitted.Id);
                return 0;
            }

            var seconds = parse.GetValue(timeout);
            var done = await TaskWaiter.WaitAsync(client, submitted.Id,
                seconds is { } s ? TimeSpan.FromSeconds(s) : null, ctx.Env.Time, ct);
            if (parse.GetValue(json))
            {
                await ctx.Out.WriteLineAsync(TaskFormat.Json(done));
            }
            else if (done.State == TaskState.Succeeded && done.Result is { } result)
            {
                await ctx.Out.WriteLineAsync(result.Content);
                // Facts about the run go to stderr so stdout is exactly the answer (pipe-friendly).
                await ctx.Err.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"[{done.Id} {result.Provider}/{result.Model} on {result.WorkerName ?? result.WorkerId} · {result.Usage?.CompletionTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"} tokens · {TaskFormat.Number(result.TokensPerSecond)} tokens/s]"));
            }
            return done.State == TaskState.Succeeded ? 0 : Fail(ctx, done);
        });
        return command;
    }

    private static int Fail(CliContext ctx, TaskView done)
    {
        var why = done.Reason ?? done.Errors.LastOrDefault()?.Message ?? "no reason given";
        ctx.Err.WriteLine($"d8: task {done.Id} {TaskFormat.Name(done.State)}: {why}");
        return 1;
    }
}
