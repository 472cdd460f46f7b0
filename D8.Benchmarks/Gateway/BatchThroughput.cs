using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using D8.Benchmarks.Dispatch;
using D8.Contracts;
using D8.Contracts.OpenAi;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

namespace D8.Benchmarks.Gateway;

#pragma warning disable OPENAI001 // the Batch client is experimental in the 2.x SDK

/// <summary>
/// The batch line of the gateway benchmark: a 50,000-request batch end to end (upload, validate, run on real worker
/// processes against a zero-delay OpenAI emulator, output file written) through the official OpenAI SDK, timed from
/// the batch's creation to <c>completed</c>, and the orchestrator's peak RSS over its whole life (VmHWM).
/// </summary>
public static class BatchThroughput
{
    private const string ProviderKey = "bench-provider-key";
    private const string Model = "gpt-4o-mini";

    /// <summary>Runs the batch and returns <c>gateway: batch N requests, R requests/s, peak RSS M MB</c>.</summary>
    public static async Task<string> RunAsync(int requests = 50_000, int workers = 2, int concurrency = 128, CancellationToken ct = default)
    {
        var files = Path.Combine(Path.GetTempPath(), "d8-bench", "files-" + Guid.NewGuid().ToString("N"));
        await using var emulator = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "bench-batch",
            ApiKey = ProviderKey,
            TokensPerAnswer = 4,
            RateLimitRequests = int.MaxValue,
            RateLimitTokens = int.MaxValue,
        }, ct);
        await using var orch = await OrchestratorProcess.StartAsync(settings: new Dictionary<string, string?> { ["D8_FILES_PATH"] = files });
        var fleet = new List<ProcessHost>();
        try
        {
            for (var i = 0; i < workers; i++) fleet.Add(StartWorker(orch, emulator.BaseUrl + "/v1", $"batch-worker-{i}", concurrency));
            await WaitForWorkersAsync(orch, workers, ct);
            var endpoint = new Uri(orch.BaseUrl, "v1");
            var key = new ApiKeyCredential(orch.ApiKey);
            var fileClient = new OpenAIFileClient(key, new OpenAIClientOptions { Endpoint = endpoint });
            var batchClient = new BatchClient(key, new BatchClientOptions { Endpoint = endpoint });

            var cpuBefore = orch.CpuTime();
            var workerCpuBefore = fleet.Sum(w => w.CpuTime().TotalSeconds);
            var input = (await fileClient.UploadFileAsync(BinaryData.FromString(Lines(requests)), "bench.jsonl", FileUploadPurpose.Batch)).Value;
            var clock = Stopwatch.StartNew();
            var operation = await batchClient.CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(new Dictionary<string, string>
            {
                ["input_file_id"] = input.Id,
                ["endpoint"] = "/v1/chat/completions",
                ["completion_window"] = "24h",
            })), waitUntilCompleted: false, new System.ClientModel.Primitives.RequestOptions { CancellationToken = ct });
            OpenAiBatch batch;
            while (true)
            {
                var raw = await batchClient.GetBatchAsync(operation.BatchId, new System.ClientModel.Primitives.RequestOptions { CancellationToken = ct });
                batch = JsonSerializer.Deserialize(raw.GetRawResponse().Content.ToString(), BatchWireContext.Default.OpenAiBatch)!;
                if (BatchStatus.IsTerminal(batch.Status)) break;
                await Task.Delay(TimeSpan.FromMilliseconds(100), ct); // the client's polling interval
            }
            var seconds = clock.Elapsed.TotalSeconds;
            if (batch.Status != BatchStatus.Completed || batch.RequestCounts.Completed != requests)
            {
                throw new InvalidOperationException($"batch ended {batch.Status} with {batch.RequestCounts}");
            }
            var orchCpu = (orch.CpuTime() - cpuBefore).TotalSeconds;
            var workerCpu = fleet.Sum(w => w.CpuTime().TotalSeconds) - workerCpuBefore;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch.Id}: {requests} requests in {seconds:F1} s, {workers} workers × {concurrency} slots, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; " +
                $"CPU per request: orchestrator {orchCpu * 1e6 / requests:F0} µs, workers {workerCpu * 1e6 / requests:F0} µs"));
            return string.Create(CultureInfo.InvariantCulture,
                $"gateway: batch {requests} requests, {requests / seconds:F0} requests/s, peak RSS {orch.PeakRssMb():F0} MB");
        }
        finally
        {
            foreach (var worker in fleet) await worker.DisposeAsync();
            try
            {
                Directory.Delete(files, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }

    private static string Lines(int requests)
    {
        var text = new StringBuilder(requests * 160);
        for (var i = 0; i < requests; i++)
        {
            text.Append("{\"custom_id\":\"r").Append(i)
                .Append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"" + Model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"request ")
                .Append(i).Append("\"}],\"max_tokens\":8}}");
            text.Append('\n');
        }
        return text.ToString();
    }

    private static ProcessHost StartWorker(OrchestratorProcess orch, string providerUrl, string name, int concurrency) =>
        ProcessHost.Launch("D8.Worker", new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any, // its /health is not used here
            ["D8_ORCHESTRATOR_URL"] = orch.BaseUrl.ToString(),
            ["D8_JOIN_TOKEN"] = orch.JoinToken,
            ["D8_WORKER_NAME"] = name,
            ["D8_PROVIDER"] = "openai",
            ["D8_MODEL"] = Model,
            ["D8_PROVIDER_BASE_URL"] = providerUrl,
            ["D8_PROVIDER_API_KEY"] = ProviderKey,
            ["D8_CONCURRENCY"] = concurrency.ToString(CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning",
        }, log: line => Console.Error.WriteLine(line), name: name, keepOutput: false);

    private static async Task WaitForWorkersAsync(OrchestratorProcess orch, int count, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = orch.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        var client = new OrchestratorClient(http) { ApiKey = orch.ApiKey };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await client.GetWorkersAsync(ct)).Count(w => w.Healthy && w.State == WorkerState.Online) < count)
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"{count} workers did not become ready in 90 s");
            await Task.Delay(100, ct); // polling a condition with a deadline
        }
    }
}
