using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using D8.Benchmarks.Dispatch;
using D8.Contracts;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace D8.Benchmarks.Gateway;

/// <summary>
/// The OpenAI door's figures, against the emulators, on one orchestrator and real worker processes:
/// (1) the OpenAI SDK calling D8's /v1/chat/completions vs calling the emulator directly (sequential calls);
/// (2) the same for a stream's first token; (3) N calls waiting at once on a busy slow worker, all answered once a
/// fast worker joins, with the orchestrator's peak RSS. Prints the lines the README quotes; no pass/fail.
/// </summary>
internal static class GatewayBenchmark
{
    private const string Key = "bench-provider-key";
    private const string Model = "llama-3.1-8b-instant";
    private const string WaitModel = "bench-wait";

    public static async Task<int> RunAsync(string[] args)
    {
        var calls = Option(args, "--calls", 200);
        var waiting = Option(args, "--waiting", 2000);
        var batch = Option(args, "--batch", 50_000);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        await using var fast = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "bench-groq", ApiKey = Key, TokensPerAnswer = 16, Models = [Model, WaitModel],
        });
        await using var slow = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions
        {
            Name = "bench-slow", InstalledModels = [WaitModel], TokensPerAnswer = 100_000, TokenDelay = TimeSpan.FromMilliseconds(100),
        });
        await using var orch = await OrchestratorProcess.StartAsync();
        await using var groq = Worker(orch, "bench-groq-1", "groq", fast.BaseUrl + "/openai/v1", Model, concurrency: 4);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromMinutes(10),
        };
        var d8 = new OrchestratorClient(http) { ApiKey = orch.ApiKey };
        await WaitForWorkerAsync(d8, "bench-groq-1");

        var direct = Chat(new Uri(fast.BaseUrl + "/openai/v1"), Key, Model);
        var viaD8 = Chat(new Uri(orch.BaseUrl, "v1"), orch.ApiKey, Model);
        await Sequential(direct, 10, stream: false);
        await Sequential(viaD8, 10, stream: false);
        var (directChat, d8Chat) = (await Sequential(direct, calls, stream: false), await Sequential(viaD8, calls, stream: false));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway: chat overhead p50 {P(d8Chat, 0.5) - P(directChat, 0.5):F1} ms p99 {P(d8Chat, 0.99) - P(directChat, 0.99):F1} ms (direct {P(directChat, 0.5):F1} ms)"));
        var (directFirst, d8First) = (await Sequential(direct, calls, stream: true), await Sequential(viaD8, calls, stream: true));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway: stream first-token overhead p50 {P(d8First, 0.5) - P(directFirst, 0.5):F1} ms"));

        await using var slowWorker = Worker(orch, "bench-slow-1", "ollama", slow.BaseUrl, WaitModel, concurrency: 1);
        await WaitForWorkerAsync(d8, "bench-slow-1");
        var (errors, seconds) = await WaitingAsync(http, d8, orch, waiting, fast.BaseUrl + "/openai/v1");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"gateway: {waiting} concurrent waiting calls, {errors} errors, peak RSS {orch.PeakRssMb():F0} MB"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  ({waiting} calls queued behind one busy slow worker, then all answered within {seconds:F1} s of a fast worker joining; peak RSS is the orchestrator's VmHWM over the whole run)"));
        if (batch > 0) Console.WriteLine(await BatchThroughput.RunAsync(batch));
        return 0;
    }

    /// <summary>Sequential calls; the time to the whole answer, or with <paramref name="stream"/> to the first content piece.</summary>
    private static async Task<List<double>> Sequential(ChatClient chat, int count, bool stream)
    {
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            if (stream)
            {
                double? first = null;
                await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage($"stream {i}")]))
                {
                    if (first is null && update.ContentUpdate.Count > 0 && update.ContentUpdate[0].Text.Length > 0)
                    {
                        first = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    }
                }
                times.Add(first ?? throw new InvalidOperationException("a stream without content"));
            }
            else
            {
                await chat.CompleteChatAsync([new UserChatMessage($"chat {i}")]);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        return times;
    }

    /// <summary>
    /// <paramref name="count"/> calls at once for a model whose only worker is busy with a very long answer: all of them
    /// wait (their tasks queued). Once every task is queued a fast worker for that model joins and they drain; every
    /// call must answer 200.
    /// </summary>
    private static async Task<(int Errors, double Seconds)> WaitingAsync(HttpClient http, OrchestratorClient d8,
        OrchestratorProcess orch, int count, string fastUrl)
    {
        // The slow worker's slot first, so every later call waits.
        var holder = Call(http, orch.ApiKey, -1);
        await UntilAsync(async () => (await d8.GetWorkersAsync()).Any(w => w.Name == "bench-slow-1" && w.InFlight == 1));
        var calls = Enumerable.Range(0, count).Select(i => Call(http, orch.ApiKey, i)).ToList();
        await UntilAsync(async () => (await d8.GetStatsAsync()).Tasks["queued"] >= count);
        var started = Stopwatch.GetTimestamp();
        await using var joined = Worker(orch, "bench-fast-1", "groq", fastUrl, WaitModel, concurrency: 64);
        var statuses = await Task.WhenAll(calls);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var errors = statuses.Count(s => s != 200);
        // The holder's task is on the slow worker for hours: hang up, which cancels it.
        http.CancelPendingRequests();
        try { await holder; } catch (OperationCanceledException) { /* hung up on purpose */ }
        return (errors, seconds);
    }

    private static async Task<int> Call(HttpClient http, string apiKey, int i)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{WaitModel}}","messages":[{"role":"user","content":"wait {{i}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        try
        {
            using var response = await http.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static ChatClient Chat(Uri endpoint, string key, string model) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = endpoint, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    private static ProcessHost Worker(OrchestratorProcess orch, string name, string provider, string url, string model, int concurrency) =>
        orch.StartWorker(name, provider, url, concurrency, Key, model);

    private static Task WaitForWorkerAsync(OrchestratorClient d8, string name) =>
        UntilAsync(async () => (await d8.GetWorkersAsync()).Any(w => w.Name == name && w.Healthy && w.State == WorkerState.Online));

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the benchmark's fleet did not reach the expected state in 5 minutes");
            await Task.Delay(100); // polling a condition with a deadline
        }
    }

    private static double P(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
