using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Globalization;
using D8.Benchmarks.Dispatch;
using D8.Contracts;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI;

namespace D8.Benchmarks.Worker;

/// <summary>
/// Worker figures: idle RSS of a registered worker process, and the per-task overhead of orchestrator + worker over
/// calling the same emulator directly with the same client (median of N sequential tasks).
/// </summary>
internal static class WorkerBenchmark
{
    private const string Key = "bench-provider-key";

    public static async Task<int> RunAsync(string[] args)
    {
        var tasks = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
        await using var emulator = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "bench-groq", ApiKey = Key, TokensPerAnswer = 8 });
        await using var orch = await OrchestratorProcess.StartAsync();
        await using var worker = StartWorker(orch, emulator.BaseUrl + "/openai/v1");
        using var http = new HttpClient { BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(90) };
        var client = new OrchestratorClient(http) { ApiKey = orch.ApiKey };

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(await client.GetWorkersAsync()).Any(w => w.Name == "bench-worker" && w.Healthy && w.State == WorkerState.Online))
        {
            if (DateTime.UtcNow > deadline || worker.HasExited) throw new InvalidOperationException("worker did not become ready");
            await Task.Delay(100);
        }
        // Idle: registered, long-polling, heartbeating; let start-up garbage settle.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var idleRss = Status(worker.Pid, "VmRSS:");
        var idleFiles = new Dictionary<string, double>();
        var idleParts = RssParts(worker.Pid, idleFiles);

        var chat = new OpenAIClient(new ApiKeyCredential(Key), new OpenAIClientOptions
        {
            Endpoint = new Uri(emulator.BaseUrl + "/openai/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        }).GetChatClient("llama-3.1-8b-instant").AsIChatClient();

        async Task<double> DirectAsync(int i)
        {
            var sw = Stopwatch.StartNew();
            await foreach (var _ in chat.GetStreamingResponseAsync([new Microsoft.Extensions.AI.ChatMessage(ChatRole.User, $"direct {i}")])) { }
            return sw.Elapsed.TotalMilliseconds;
        }

        async Task<double> ThroughD8Async(int i)
        {
            var sw = Stopwatch.StartNew();
            var submitted = await client.SubmitAsync(new SubmitTaskRequest { Prompt = $"d8 {i}" });
            TaskView view;
            do view = await client.GetTaskAsync(submitted.Id, TimeSpan.FromSeconds(30));
            while (!view.State.IsTerminal());
            if (view.State != TaskState.Succeeded) throw new InvalidOperationException($"task {view.Id} {view.State}");
            return sw.Elapsed.TotalMilliseconds;
        }

        for (var i = 0; i < 10; i++)
        {
            await DirectAsync(-i);
            await ThroughD8Async(-i);
        }
        var direct = new List<double>();
        var viaD8 = new List<double>();
        for (var i = 0; i < tasks; i++)
        {
            direct.Add(await DirectAsync(i));
            viaD8.Add(await ThroughD8Async(i));
        }
        var medianDirect = Median(direct);
        var medianD8 = Median(viaD8);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine($"worker idle RSS: {idleRss:F1} MB (VmRSS after registering and idling 5 s; goal < 80 MB)");
        Console.WriteLine("  of which: " + string.Join(", ", idleParts.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value:F1} MB")));
        Console.WriteLine("  largest files: " + string.Join(", ", idleFiles.OrderByDescending(p => p.Value).Take(12).Select(p => $"{p.Key} {p.Value:F1}")));
        Console.WriteLine($"direct call median: {medianDirect:F2} ms; submit→result through orchestrator+worker median: {medianD8:F2} ms ({tasks} sequential tasks)");
        Console.WriteLine($"orchestrator+worker overhead per task (median difference): {medianD8 - medianDirect:F2} ms");
        Console.WriteLine($"worker peak RSS after the run: {Status(worker.Pid, "VmHWM:"):F1} MB");
        await worker.KillAsync();
        return 0;
    }

    private static ProcessHost StartWorker(OrchestratorProcess orch, string providerUrl) =>
        ProcessHost.Launch("D8.Worker", new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any, // its /health is not used here
            ["D8_ORCHESTRATOR_URL"] = orch.BaseUrl.ToString(),
            ["D8_JOIN_TOKEN"] = orch.JoinToken,
            ["D8_WORKER_NAME"] = "bench-worker",
            ["D8_PROVIDER"] = "groq",
            ["D8_PROVIDER_BASE_URL"] = providerUrl,
            ["D8_PROVIDER_API_KEY"] = Key,
            ["D8_CONCURRENCY"] = "1",
            // The free-tier budget would throttle a benchmark to 30 tasks a minute.
            ["D8_RPM"] = "0",
            ["D8_TPM"] = "0",
            ["D8_RPD"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning",
        }, log: line => Console.Error.WriteLine(line), name: "worker", keepOutput: false);

    private static double Status(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return double.NaN;
    }

    /// <summary>
    /// Resident memory by kind of mapping (/proc/pid/smaps): what dominates an idle worker. Anonymous memory is the GC
    /// heap, thread stacks and the runtime's own allocations; JIT-compiled code lives in the memfd "doublemapper"
    /// mappings (write-xor-execute); mapped .dll files are managed
    /// assemblies (pages of IL and ReadyToRun code actually touched); .so files the native runtime and libraries.
    /// </summary>
    private static Dictionary<string, double> RssParts(int pid, Dictionary<string, double>? files = null)
    {
        var parts = new Dictionary<string, double>();
        var kind = "anonymous (GC heap, JIT code, stacks, runtime)";
        var file = "";
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
            {
                var path = fields.Length >= 6 ? fields[5] : "";
                file = Path.GetFileName(path);
                kind = path.Contains("doublemapper", StringComparison.Ordinal) ? "JIT-compiled code and stubs (W^X double mapping)"
                    : path.EndsWith(".dll", StringComparison.Ordinal) ? "managed assemblies (.dll)"
                    : path.Contains(".so", StringComparison.Ordinal) ? "native libraries (.so)"
                    : path.StartsWith('/') ? "other files" : "anonymous (GC heap, JIT code, stacks, runtime)";
            }
            else if (fields.Length >= 2 && fields[0] == "Rss:")
            {
                var mb = long.Parse(fields[1], CultureInfo.InvariantCulture) / 1024.0;
                parts[kind] = parts.GetValueOrDefault(kind) + mb;
                if (files is not null && file.Length > 0) files[file] = files.GetValueOrDefault(file) + mb;
            }
        }
        return parts;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }
}
