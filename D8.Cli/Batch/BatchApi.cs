using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using D8.Contracts.OpenAi;
using OpenAI.Batch;
using OpenAI.Files;

namespace D8.Cli.Batch;

#pragma warning disable OPENAI001 // the Batch client is experimental in the 2.x SDK

/// <summary>
/// The few batch calls d8 makes, over the OpenAI SDK's file and batch clients (protocol methods: the answers are read
/// into D8's batch wire types). An error answer becomes one line naming the orchestrator's message.
/// </summary>
public sealed class BatchApi(OpenAIFileClient files, BatchClient batches)
{
    public async Task<OpenAiBatch> SubmitAsync(string path, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        var file = await Call(async () =>
        {
            await using var stream = File.OpenRead(path);
            return (await files.UploadFileAsync(stream, Path.GetFileName(path), FileUploadPurpose.Batch, ct)).Value;
        });
        var body = new Dictionary<string, object>
        {
            ["input_file_id"] = file.Id,
            ["endpoint"] = "/v1/chat/completions",
            ["completion_window"] = "24h",
        };
        if (metadata.Count > 0) body["metadata"] = metadata;
        var operation = await Call(() => batches.CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(body)), waitUntilCompleted: false, Options(ct)));
        return Read(operation.GetRawResponse());
    }

    public async Task<OpenAiBatch> GetAsync(string id, CancellationToken ct) =>
        Read((await Call(() => batches.GetBatchAsync(id, Options(ct)))).GetRawResponse());

    public async Task<OpenAiBatch> CancelAsync(string id, CancellationToken ct)
    {
        var operation = await Call(() => CreateBatchOperation.RehydrateAsync(batches, id, ct));
        return Read((await Call(() => operation.CancelAsync(Options(ct)))).GetRawResponse());
    }

    public async Task<OpenAiList<OpenAiBatch>> ListAsync(string? after, int limit, CancellationToken ct)
    {
        await foreach (var page in batches.GetBatchesAsync(after, limit, Options(ct)).GetRawPagesAsync().WithCancellation(ct))
        {
            return JsonSerializer.Deserialize(page.GetRawResponse().Content.ToString(), BatchWireContext.Default.OpenAiListOpenAiBatch)!;
        }
        return new OpenAiList<OpenAiBatch> { Data = [] };
    }

    public async Task<BinaryData> DownloadAsync(string fileId, CancellationToken ct) =>
        (await Call(() => files.DownloadFileAsync(fileId, ct))).Value;

    private static RequestOptions Options(CancellationToken ct) => new() { CancellationToken = ct };

    private static OpenAiBatch Read(PipelineResponse response) =>
        JsonSerializer.Deserialize(response.Content.ToString(), BatchWireContext.Default.OpenAiBatch)
        ?? throw new CliException("the orchestrator answered an empty batch");

    /// <summary>Runs one SDK call; an error status becomes "orchestrator answered 404: No such Batch object: …".</summary>
    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (ClientResultException e)
        {
            var message = e.Message;
            try
            {
                using var body = JsonDocument.Parse(e.GetRawResponse()?.Content.ToString() ?? "");
                message = body.RootElement.GetProperty("error").GetProperty("message").GetString() ?? message;
            }
            catch (Exception parse) when (parse is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                // Not OpenAI's error shape: keep the SDK's message.
            }
            var hint = e.Status == 401 ? " (check --api-key, D8_API_KEY or api_key in the config file)" : "";
            throw new CliException($"orchestrator answered {e.Status}: {CliApp.FirstLine(message)}{hint}");
        }
    }
}
