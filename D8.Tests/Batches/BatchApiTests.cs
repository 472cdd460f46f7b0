using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using D8.Contracts.OpenAi;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;
using Xunit.Abstractions;

using D8.Tests.Infrastructure;

namespace D8.Tests.Batches;

#pragma warning disable OPENAI001 // the Batch client is experimental in the 2.x SDK

/// <summary>The Batch API through the official OpenAI .NET SDK against a real orchestrator, worker and emulator.</summary>
public class BatchApiTests(ITestOutputHelper output) : StoreTests
{
    [StoreFact]
    public async Task Upload_runs_to_completed_with_every_custom_id_once_in_the_output()
    {
        await using var fleet = await BatchFleet.StartAsync(output, settings: Store.Apply());
        var ids = Enumerable.Range(1, 30).Select(i => $"req-{i}").ToList();

        var id = await fleet.SubmitAsync(ids.Select(c => BatchFleet.Line(c)), new Dictionary<string, string> { ["job"] = "nightly" });
        var done = await fleet.WaitForEndAsync(id);

        Assert.Equal(BatchStatus.Completed, done.Status);
        Assert.Equal(new BatchRequestCounts(30, 30, 0), done.RequestCounts);
        Assert.Equal("nightly", done.Metadata!["job"]);
        Assert.Null(done.ErrorFileId);
        Assert.NotNull(done.CompletedAt);
        var lines = await fleet.ReadLinesAsync(done.OutputFileId);
        Assert.Equal(ids.Order(), lines.Select(l => l.GetProperty("custom_id").GetString()!).Order());
        var first = lines[0];
        Assert.Equal(200, first.GetProperty("response").GetProperty("status_code").GetInt32());
        var completion = first.GetProperty("response").GetProperty("body");
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.False(string.IsNullOrEmpty(completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal(JsonValueKind.Null, first.GetProperty("error").ValueKind);
        Assert.All(fleet.EmulatorCallsPerCustomId().Values, n => Assert.Equal(1, n));

        // The output file is an ordinary file: listed and described through the SDK.
        var outputFile = await fleet.Files.GetFileAsync(done.OutputFileId!);
        Assert.Equal(FilePurpose.BatchOutput, outputFile.Value.Purpose);
        Assert.True(outputFile.Value.SizeInBytes > 0);
        var listed = await fleet.Files.GetFilesAsync();
        Assert.Contains(listed.Value, f => f.Id == done.InputFileId);
        Assert.Contains(listed.Value, f => f.Id == done.OutputFileId);

        // /metrics counts the lines by outcome.
        using var http = new HttpClient { BaseAddress = fleet.Fleet.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fleet.Fleet.ApiKey);
        var metrics = await http.GetStringAsync("metrics");
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("d8_batch_lines", StringComparison.Ordinal) && l.Contains("outcome=\"completed\"", StringComparison.Ordinal));
    }

    [StoreFact]
    public async Task Bad_lines_go_to_the_error_file_with_their_line_numbers_and_the_rest_run()
    {
        await using var fleet = await BatchFleet.StartAsync(output, settings: Store.Apply());
        string[] lines =
        [
            BatchFleet.Line("ok-1"),
            "{ not json",
            BatchFleet.Line("unknown-model", model: "no-such-model"),
            BatchFleet.Line("ok-1"),
            BatchFleet.Line("wrong-url", url: "/v1/embeddings"),
            BatchFleet.Line("ok-2"),
        ];

        var done = await fleet.WaitForEndAsync(await fleet.SubmitAsync(lines));

        Assert.Equal(BatchStatus.Completed, done.Status);
        Assert.Equal(new BatchRequestCounts(6, 2, 4), done.RequestCounts);
        Assert.Equal(["ok-1", "ok-2"], (await fleet.ReadLinesAsync(done.OutputFileId)).Select(l => l.GetProperty("custom_id").GetString()));
        var errors = (await fleet.ReadLinesAsync(done.ErrorFileId)).Select(l => l.GetProperty("error")).ToList();
        Assert.Equal([2, 3, 4, 5], errors.Select(e => e.GetProperty("line").GetInt32()));
        Assert.Equal(["invalid_json", "model_not_found", "duplicate_custom_id", "invalid_url"], errors.Select(e => e.GetProperty("code").GetString()));
        Assert.Contains("no-such-model", errors[1].GetProperty("message").GetString());
        Assert.Equal(2, fleet.EmulatorCallsPerCustomId().Values.Sum());
    }

    [StoreFact]
    public async Task Cancel_stops_feeding_and_every_custom_id_is_accounted_for_once()
    {
        // A slow model and a window of 2 live tasks: most lines are still on disk when the cancel comes.
        await using var fleet = await BatchFleet.StartAsync(output, tokenDelay: TimeSpan.FromMilliseconds(150),
            settings: Store.Apply(new Dictionary<string, string?> { ["D8_BATCH_WINDOW"] = "2" }), concurrency: 2);
        var ids = Enumerable.Range(1, 40).Select(i => $"c-{i}").ToList();
        var id = await fleet.SubmitAsync(ids.Select(c => BatchFleet.Line(c)));
        await fleet.Emulator.WaitForRequestAsync(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal), BatchFleet.Timeout);

        var operation = await CreateBatchOperation.RehydrateAsync(fleet.Batches, id);
        var cancelled = await operation.CancelAsync(new System.ClientModel.Primitives.RequestOptions());
        var answer = JsonSerializer.Deserialize(cancelled.GetRawResponse().Content.ToString(), BatchWireContext.Default.OpenAiBatch)!;
        Assert.True(answer.Status is BatchStatus.Cancelling or BatchStatus.Cancelled, answer.Status);
        var done = await fleet.WaitForEndAsync(id);

        Assert.Equal(BatchStatus.Cancelled, done.Status);
        Assert.NotNull(done.CancelledAt);
        var outputLines = await fleet.ReadLinesAsync(done.OutputFileId);
        var errorLines = await fleet.ReadLinesAsync(done.ErrorFileId);
        var all = outputLines.Concat(errorLines).Select(l => l.GetProperty("custom_id").GetString()!).ToList();
        Assert.Equal(ids.Order(), all.Order());
        Assert.Contains(errorLines, l => l.GetProperty("error").GetProperty("code").GetString() == "batch_cancelled");
        Assert.Equal(40, done.RequestCounts.Completed + done.RequestCounts.Failed);
        Assert.True(fleet.EmulatorCallsPerCustomId().Values.Sum() < 20, "most lines never reached the model");
    }

    [StoreFact]
    public async Task Upload_over_D8_MAX_FILE_BYTES_is_413_and_a_wrong_key_is_401()
    {
        await using var fleet = await BatchFleet.StartAsync(output, settings: Store.Apply(new Dictionary<string, string?> { ["D8_MAX_FILE_BYTES"] = "4096" }));
        var big = string.Join('\n', Enumerable.Range(0, 100).Select(i => BatchFleet.Line($"big-{i}")));

        var tooLarge = await Assert.ThrowsAsync<ClientResultException>(() =>
            fleet.Files.UploadFileAsync(BinaryData.FromString(big), "big.jsonl", FileUploadPurpose.Batch));
        Assert.Equal(413, tooLarge.Status);
        Assert.Contains("file_too_large", tooLarge.GetRawResponse()!.Content.ToString());

        var wrongKey = new OpenAIFileClient(new ApiKeyCredential("wrong"), new OpenAIClientOptions { Endpoint = new Uri(fleet.Fleet.BaseUrl, "v1") });
        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() =>
            wrongKey.UploadFileAsync(BinaryData.FromString(BatchFleet.Line("x")), "x.jsonl", FileUploadPurpose.Batch));
        Assert.Equal(401, unauthorized.Status);
        Assert.Contains("invalid_api_key", unauthorized.GetRawResponse()!.Content.ToString());
        var wrongBatches = new BatchClient(new ApiKeyCredential("wrong"), new BatchClientOptions { Endpoint = new Uri(fleet.Fleet.BaseUrl, "v1") });
        var listRefused = await Assert.ThrowsAsync<ClientResultException>(() =>
            wrongBatches.GetBatchAsync("batch_x", new System.ClientModel.Primitives.RequestOptions()));
        Assert.Equal(401, listRefused.Status);
    }

    [StoreFact]
    public async Task Requests_are_refused_in_OpenAI_shape_naming_the_field_and_batches_list_in_pages()
    {
        await using var fleet = await BatchFleet.StartAsync(output, settings: Store.Apply());
        using var http = new HttpClient { BaseAddress = fleet.Fleet.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fleet.Fleet.ApiKey);
        var file = (await fleet.Files.UploadFileAsync(BinaryData.FromString(BatchFleet.Line("p-1")), "p.jsonl", FileUploadPurpose.Batch)).Value;

        await AssertRefusedAsync(http, new { input_file_id = file.Id, endpoint = "/v1/embeddings", completion_window = "24h" }, "endpoint");
        await AssertRefusedAsync(http, new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "1h" }, "completion_window");
        await AssertRefusedAsync(http, new { input_file_id = "file-nope", endpoint = "/v1/chat/completions", completion_window = "24h" }, "input_file_id");
        var missing = await http.GetAsync("v1/batches/batch_nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("batch_not_found", ErrorOf(await missing.Content.ReadAsStringAsync()).GetProperty("code").GetString());

        var created = new List<string>();
        for (var i = 0; i < 3; i++) created.Add(await fleet.SubmitAsync([BatchFleet.Line($"p-{i}")]));
        var page1 = JsonSerializer.Deserialize(await http.GetStringAsync("v1/batches?limit=2"), BatchWireContext.Default.OpenAiListOpenAiBatch)!;
        Assert.True(page1.HasMore);
        Assert.Equal([created[2], created[1]], page1.Data.Select(b => b.Id));
        var page2 = JsonSerializer.Deserialize(await http.GetStringAsync($"v1/batches?limit=2&after={page1.LastId}"), BatchWireContext.Default.OpenAiListOpenAiBatch)!;
        Assert.False(page2.HasMore);
        Assert.Equal([created[0]], page2.Data.Select(b => b.Id));

        var deleted = await http.DeleteAsync($"v1/files/{file.Id}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"v1/files/{file.Id}/content")).StatusCode);
    }

    private static async Task AssertRefusedAsync(HttpClient http, object body, string param)
    {
        var response = await http.PostAsync("v1/batches", new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = ErrorOf(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    private static JsonElement ErrorOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("error").Clone();
}

/// <summary>The same process tests with the orchestrator on PostgreSQL (batches and file metadata there, bodies on disk).</summary>
public sealed class PostgresBatchApiTests(ITestOutputHelper output) : BatchApiTests(output), IPostgresStoreTests;
