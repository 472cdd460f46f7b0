using System.Diagnostics;
using D8.Contracts;
using D8.Emulators.Faults;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Streaming;
using D8.Tests.Infrastructure;
using D8.Tests.Worker;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace D8.Tests.Streaming;

/// <summary>
/// The streaming relay end to end: the real orchestrator (in this process, so the test reads its
/// <see cref="TaskStreamHub"/> the way the OpenAI gateway does), a real worker process and the provider emulators.
/// </summary>
public sealed class StreamRelayProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly List<ProcessHost> _workers = [];
    private InProcessOrchestrator _orch = null!;

    public Task InitializeAsync() => StartAsync();

    private async Task StartAsync(IDictionary<string, string?>? settings = null)
    {
        if (_orch is not null) await _orch.DisposeAsync();
        var all = new Dictionary<string, string?> { ["D8_HEARTBEAT_SECONDS"] = "1" };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) all[k] = v;
        _orch = await InProcessOrchestrator.StartAsync(all);
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers) await worker.DisposeAsync();
        await _orch.DisposeAsync();
    }

    private TaskStreamHub Hub => _orch.Services.GetRequiredService<TaskStreamHub>();

    private void StartWorker(string provider, string providerUrl)
    {
        var settings = WorkerFleet.WorkerSettings(_orch.BaseUrl, _orch.JoinToken, provider + "-worker", provider, providerUrl);
        _workers.Add(ProcessHost.Start("D8.Worker", settings, log: output, name: provider + "-worker"));
    }

    private static Task<OpenAiEmulator> GroqAsync(int tokens, TimeSpan delay) => OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
    {
        Name = "groq-stream", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = tokens, TokenDelay = delay,
    });

    /// <summary>Submits a streamed task and subscribes at once, as the gateway does.</summary>
    private async Task<TaskStreamSubscription> SubmitStreamedAsync(string provider, string prompt = "stream it")
    {
        var submitted = await _orch.CreateClient().SubmitAsync(new SubmitTaskRequest { Prompt = prompt, Provider = provider, Stream = true });
        return Hub.Subscribe(submitted.Id);
    }

    private Task<TaskView> WaitForTerminalAsync(string id) =>
        _orch.Engine.GetAsync(id, Timeout, CancellationToken.None).WaitAsync(Timeout);

    /// <summary>Reads the subscription to its end, noting when each piece came.</summary>
    private static async Task<List<(string Text, TimeSpan At)>> ReadAllAsync(TaskStreamSubscription subscription, Stopwatch clock)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var pieces = new List<(string, TimeSpan)>();
        await foreach (var piece in subscription.Deltas.ReadAllAsync(cts.Token)) pieces.Add((piece, clock.Elapsed));
        return pieces;
    }

    private static int ChatRequests(OpenAiEmulator emulator) =>
        emulator.Requests.Snapshot().Count(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal));

    [Theory]
    [InlineData("groq")]
    [InlineData("ollama")]
    public async Task Pieces_reach_the_reader_at_the_providers_pace_and_add_up_to_the_stored_result(string provider)
    {
        const int tokens = 24;
        var delay = TimeSpan.FromMilliseconds(150);
        await using var groq = await GroqAsync(tokens, delay);
        await using var ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions { Name = "pi-stream", TokensPerAnswer = tokens, TokenDelay = delay });
        StartWorker(provider, provider == "ollama" ? ollama.BaseUrl : groq.BaseUrl + "/openai/v1");

        using var subscription = await SubmitStreamedAsync(provider);
        var clock = Stopwatch.StartNew();
        var reading = ReadAllAsync(subscription, clock);
        var task = await WaitForTerminalAsync(subscription.TaskId);
        var endedAt = clock.Elapsed;
        var pieces = await reading;

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.False(subscription.Truncated);
        Assert.Equal(task.Result!.Content, string.Concat(pieces.Select(p => p.Text)));
        // The provider spends (tokens - 1) × delay = 3.45 s after its first token; the first piece must come long
        // before the end (a third of that, for a loaded machine), not in one lump with the result.
        var lead = endedAt - pieces[0].At;
        Assert.True(lead >= (tokens - 1) * delay / 3, $"first piece only {lead.TotalMilliseconds:F0} ms before the end");
        Assert.True(pieces.Count(p => p.At < endedAt) >= 2, "pieces came in one lump");
    }

    [Fact]
    public async Task An_error_after_text_was_relayed_fails_the_task_without_a_retry()
    {
        await using var groq = await GroqAsync(tokens: 12, TimeSpan.FromMilliseconds(300));
        groq.Enqueue(Fault.ErrorMidStream("the model crashed", afterChunks: 4));
        StartWorker("groq", groq.BaseUrl + "/openai/v1");

        using var subscription = await SubmitStreamedAsync("groq");
        using var cts = new CancellationTokenSource(Timeout);
        var first = await subscription.Deltas.ReadAsync(cts.Token); // text went out before the fault
        var task = await WaitForTerminalAsync(subscription.TaskId);

        Assert.Equal(TaskState.Failed, task.State);
        Assert.StartsWith(FailurePolicy.StreamedReason, task.Reason, StringComparison.Ordinal);
        Assert.Equal(1, task.Attempts);
        Assert.Null(task.Result);
        Assert.NotEmpty(first);
        Assert.Equal(1, ChatRequests(groq));
        var rest = await ReadAllAsync(subscription, Stopwatch.StartNew()); // the failure ended the stream
        Assert.DoesNotContain(rest, p => p.Text.Length == 0);
    }

    [Fact]
    public async Task A_failure_before_any_text_is_retried_and_the_reader_sees_only_the_answer()
    {
        await using var groq = await GroqAsync(tokens: 10, TimeSpan.FromMilliseconds(20));
        groq.Enqueue(Fault.ServerError("warming up"));
        StartWorker("groq", groq.BaseUrl + "/openai/v1");

        using var subscription = await SubmitStreamedAsync("groq");
        var reading = ReadAllAsync(subscription, Stopwatch.StartNew());
        var task = await WaitForTerminalAsync(subscription.TaskId);
        var pieces = await reading;

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal(2, ChatRequests(groq));
        Assert.Single(task.Errors);
        Assert.False(subscription.Truncated);
        Assert.Equal(task.Result!.Content, string.Concat(pieces.Select(p => p.Text)));
    }

    [Fact]
    public async Task A_reader_that_does_not_read_holds_neither_the_worker_nor_more_than_its_bound()
    {
        const int bound = 40;
        await StartAsync(new Dictionary<string, string?> { ["D8_STREAM_SUBSCRIBER_CHARS"] = bound.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await using var groq = await GroqAsync(tokens: 200, TimeSpan.Zero);
        StartWorker("groq", groq.BaseUrl + "/openai/v1");

        using var subscription = await SubmitStreamedAsync("groq");
        var task = await WaitForTerminalAsync(subscription.TaskId); // finishes while nobody reads

        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.True(subscription.Truncated);
        Assert.InRange(subscription.Unread, 0, bound);
        Assert.InRange(Hub.HeldChars, 0, bound);
        var pieces = await ReadAllAsync(subscription, Stopwatch.StartNew());
        var read = string.Concat(pieces.Select(p => p.Text));
        Assert.StartsWith(read, task.Result!.Content, StringComparison.Ordinal);
        Assert.True(read.Length < task.Result.Content.Length);
        Assert.Equal(0, Hub.HeldChars);
    }
}
