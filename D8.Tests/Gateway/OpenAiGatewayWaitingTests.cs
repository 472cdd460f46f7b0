using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net;
using System.Text;
using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Emulators.Limits;
using D8.Emulators.OpenAi;
using D8.Tests.Worker;
using OpenAI.Chat;
using static D8.Tests.Gateway.OpenAiGatewayTests;

namespace D8.Tests.Gateway;

/// <summary>Calls that wait: queueing instead of 429, the max wait, a client hanging up, tokens as they come.</summary>
[Collection(GatewayFleet.Collection)]
public sealed class OpenAiGatewayWaitingTests(GatewayFleet fleet)
{
    [Fact]
    public async Task A_call_still_queued_at_its_max_wait_answers_429_says_why_and_its_task_is_cancelled()
    {
        // The slow worker's only slot is taken by a first call (about a minute long).
        using var holder = new CancellationTokenSource();
        var first = fleet.Http().PostAsync("chat/completions", Chat(GatewayFleet.SlowA, "hold the slot"), holder.Token);
        await fleet.Fleet.WaitForWorkerAsync("slow-a-1", w => w.InFlight == 1);

        var options = new RequestOptions();
        options.AddHeader("x-d8-max-wait-seconds", "2");
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ClientResultException>(() => fleet.Chat(GatewayFleet.SlowA)
            .CompleteChatAsync(BinaryContent.Create(BinaryData.FromString(Body(GatewayFleet.SlowA, "wait for it"))), options));

        Assert.Equal(429, error.Status);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"answered after {clock.Elapsed}, before the max wait");
        var response = error.GetRawResponse()!;
        Assert.True(response.Headers.TryGetValue("Retry-After", out var retryAfter) && int.Parse(retryAfter!) >= 1);
        using var message = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent(response.Content.ToString()) };
        var body = await ErrorOf(message);
        Assert.Equal(("requests", "rate_limit_exceeded"), (body.Type, body.Code));
        Assert.Contains("busy (slow-a-1 1/1)", body.Message);
        Assert.True(response.Headers.TryGetValue("x-d8-task-id", out var taskId));
        var task = await fleet.Fleet.Client.GetTaskAsync(taskId!);
        Assert.Equal(TaskState.Cancelled, task.State);

        await holder.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    [Fact]
    public async Task A_client_that_hangs_up_cancels_its_task_and_frees_the_worker()
    {
        using var client = new CancellationTokenSource();
        var call = fleet.Chat(GatewayFleet.SlowB).CompleteChatAsync([new UserChatMessage("I will leave")], cancellationToken: client.Token);
        await fleet.Fleet.WaitForWorkerAsync("slow-b-1", w => w.InFlight == 1);
        var running = (await fleet.Fleet.Client.ListTasksAsync(TaskState.Leased)).Items.Single(t => t.Model == GatewayFleet.SlowB);

        await client.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        var task = await fleet.Fleet.WaitForTerminalAsync(running.Id);
        Assert.Equal(TaskState.Cancelled, task.State);
        Assert.Contains("hung up", task.Reason);
        // The worker heard of it at its next heartbeat and gave the slot back.
        await fleet.Fleet.WaitForWorkerAsync("slow-b-1", w => w.InFlight == 0);
    }

    [Fact]
    public async Task A_burst_over_the_providers_requests_per_minute_is_all_answered_none_429()
    {
        // 4 requests a "minute", with the minute scaled to 2 s on both sides; 12 calls at once.
        const int scale = 30;
        await using var limited = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "limited", ApiKey = WorkerFleet.EmulatorKey, Models = ["burst-model"], TokensPerAnswer = 3,
            RateLimitRequests = 4, Limits = new RateLimitOptions { RequestsPerMinute = 4, TimeScale = scale },
        });
        fleet.Fleet.StartWorker("burst-1", "groq", limited.BaseUrl + "/openai/v1", new Dictionary<string, string?>
        {
            ["D8_MODEL"] = "burst-model", ["D8_RPM"] = "4", ["D8_TPM"] = "0", ["D8_RPD"] = "0", ["D8_BUDGET_TIME_SCALE"] = $"{scale}",
        });
        await fleet.Fleet.WaitForWorkerAsync("burst-1");

        var chat = fleet.Chat("groq/burst-model");
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => chat.CompleteChatAsync([new UserChatMessage($"burst {i}")])));

        for (var i = 0; i < answers.Length; i++)
        {
            Assert.Equal(EmulatorAnswer.Text("limited", $"burst {i}", 3), answers[i].Value.Content[0].Text);
        }
    }

    [Fact]
    public async Task Streamed_pieces_arrive_while_the_provider_still_produces_them()
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? first = null;
        var text = new StringBuilder();
        await foreach (var update in fleet.Chat(GatewayFleet.Paced).CompleteChatStreamingAsync([new UserChatMessage("pace")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                first ??= clock.Elapsed;
                text.Append(part.Text);
            }
        }
        var total = clock.Elapsed;

        Assert.Equal(EmulatorAnswer.Text(GatewayFleet.Paced, "pace", GatewayFleet.PacedTokens), text.ToString());
        // The emulator spends PacedTokens × PacedDelay (3 s) producing the answer: the first piece must come well before the end.
        var production = GatewayFleet.PacedDelay * GatewayFleet.PacedTokens;
        Assert.True(total - first!.Value >= production / 2, $"first piece at {first}, stream ended at {total}");
    }

    private static string Body(string model, string prompt) =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}]}""";

    private static StringContent Chat(string model, string prompt) => OpenAiGatewayTests.Json(Body(model, prompt));
}
