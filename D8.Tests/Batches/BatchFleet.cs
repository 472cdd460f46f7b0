using System.ClientModel;
using System.Text;
using System.Text.Json;
using D8.Contracts.OpenAi;
using D8.Emulators.OpenAi;
using D8.Tests.Worker;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;
using Xunit.Abstractions;

namespace D8.Tests.Batches;

#pragma warning disable OPENAI001 // the Batch client is experimental in the 2.x SDK

/// <summary>
/// A real orchestrator and one real worker (provider openai, model gpt-4o-mini) against the OpenAI emulator, with the
/// official OpenAI .NET SDK's file and batch clients pointed at the orchestrator's /v1.
/// </summary>
public sealed class BatchFleet : IAsyncDisposable
{
    public const string Model = "gpt-4o-mini";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    private readonly string _files;

    private BatchFleet(OpenAiEmulator emulator, WorkerFleet fleet, string files)
    {
        Emulator = emulator;
        Fleet = fleet;
        _files = files;
        var endpoint = new Uri(fleet.BaseUrl, "v1");
        Files = new OpenAIFileClient(new ApiKeyCredential(fleet.ApiKey), new OpenAIClientOptions { Endpoint = endpoint });
        Batches = new BatchClient(new ApiKeyCredential(fleet.ApiKey), new BatchClientOptions { Endpoint = endpoint });
    }

    public OpenAiEmulator Emulator { get; }
    public WorkerFleet Fleet { get; }
    public OpenAIFileClient Files { get; }
    public BatchClient Batches { get; }

    /// <summary>Starts the emulator (answering after <paramref name="tokenDelay"/> per token), the orchestrator and a worker.</summary>
    public static async Task<BatchFleet> StartAsync(ITestOutputHelper log, TimeSpan? tokenDelay = null,
        IDictionary<string, string?>? settings = null, int concurrency = 8)
    {
        var emulator = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "batch-emulator",
            ApiKey = WorkerFleet.EmulatorKey,
            TokensPerAnswer = 4,
            TokenDelay = tokenDelay ?? TimeSpan.Zero,
            RateLimitRequests = 1_000_000,
            RateLimitTokens = 100_000_000,
        });
        var files = Path.Combine(Path.GetTempPath(), "d8-tests", "files-" + Guid.NewGuid().ToString("N"));
        var env = new Dictionary<string, string?> { ["D8_FILES_PATH"] = files };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) env[k] = v;
        var fleet = await WorkerFleet.StartAsync(log, env);
        fleet.StartWorker("batcher", "openai", emulator.BaseUrl + "/v1", new Dictionary<string, string?>
        {
            ["D8_MODEL"] = Model,
            ["D8_CONCURRENCY"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await fleet.WaitForWorkerAsync("batcher");
        return new BatchFleet(emulator, fleet, files);
    }

    /// <summary>One request line for <paramref name="customId"/> whose prompt names it (so emulator calls can be told apart).</summary>
    public static string Line(string customId, string model = Model, string url = "/v1/chat/completions") =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["custom_id"] = customId,
            ["method"] = "POST",
            ["url"] = url,
            ["body"] = new Dictionary<string, object>
            {
                ["model"] = model,
                ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = "prompt for " + customId } },
                ["max_tokens"] = 16,
            },
        });

    /// <summary>Uploads <paramref name="lines"/> as a JSONL batch file and starts a batch over it; returns the batch id.</summary>
    public async Task<string> SubmitAsync(IEnumerable<string> lines, IDictionary<string, string>? metadata = null)
    {
        var file = await Files.UploadFileAsync(BinaryData.FromString(string.Join('\n', lines) + "\n"), "requests.jsonl", FileUploadPurpose.Batch);
        var body = new Dictionary<string, object>
        {
            ["input_file_id"] = file.Value.Id,
            ["endpoint"] = "/v1/chat/completions",
            ["completion_window"] = "24h",
        };
        if (metadata is not null) body["metadata"] = metadata;
        var operation = await Batches.CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(body)), waitUntilCompleted: false);
        return operation.BatchId;
    }

    public async Task<OpenAiBatch> GetAsync(string id)
    {
        var result = await Batches.GetBatchAsync(id, new System.ClientModel.Primitives.RequestOptions());
        return JsonSerializer.Deserialize(result.GetRawResponse().Content.ToString(), BatchWireContext.Default.OpenAiBatch)!;
    }

    /// <summary>Polls the batch (through the SDK) until it is terminal.</summary>
    public async Task<OpenAiBatch> WaitForEndAsync(string id)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var batch = await GetAsync(id);
            if (BatchStatus.IsTerminal(batch.Status)) return batch;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"batch {id} still {batch.Status}: {batch.RequestCounts}");
            await Task.Delay(200); // polling interval of a condition with a deadline, as an SDK client polls
        }
    }

    /// <summary>The lines of a file (output or error) as JSON documents; none for a null id.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReadLinesAsync(string? fileId)
    {
        if (fileId is null) return [];
        var content = await Files.DownloadFileAsync(fileId);
        return [.. content.Value.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    /// <summary>Chat requests the emulator received, per custom_id their prompt names.</summary>
    public Dictionary<string, int> EmulatorCallsPerCustomId()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var request in Emulator.Requests.Snapshot().Where(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)))
        {
            using var body = request.ParseBody();
            var prompt = body.RootElement.GetProperty("messages")[0].GetProperty("content").GetString() ?? "";
            var id = prompt.Replace("prompt for ", "", StringComparison.Ordinal);
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }
        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        await Fleet.DisposeAsync();
        await Emulator.DisposeAsync();
        try
        {
            Directory.Delete(_files, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
        catch (UnauthorizedAccessException)
        {
            // best effort
        }
    }
}
