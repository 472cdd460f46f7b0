using System.Net;
using System.Text.Json;
using D8.Emulators.Faults;
using D8.Emulators.Hosting;
using D8.Emulators.Ollama;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OllamaSharp.Models;
using ChatDoneResponseStream = OllamaSharp.Models.Chat.ChatDoneResponseStream;
using OllamaSharp.Models.Exceptions;

namespace D8.Tests.Emulators;

/// <summary>The Ollama emulator driven by the real OllamaSharp 5.5.2 client.</summary>
[Trait("Category", "Unit")]
public sealed class OllamaEmulatorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string Model = "deepseek-coder:1.3b";

    private static OllamaApiClient Client(OllamaEmulator emulator) => new(emulator.BaseUri, Model);

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task Lists_installed_models_with_details_and_reports_version()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { InstalledModels = [Model, "llama3.2"] });
        using var client = Client(ollama);

        var models = (await client.ListLocalModelsAsync()).ToList();
        var version = await client.GetVersionAsync();

        Assert.Equal(["deepseek-coder:1.3b", "llama3.2:latest"], models.Select(m => m.Name));
        var deepseek = models[0];
        Assert.Equal("1.3B", deepseek.Details.ParameterSize);
        Assert.Equal("Q4_0", deepseek.Details.QuantizationLevel);
        Assert.Equal("gguf", deepseek.Details.Format);
        Assert.True(deepseek.Size > 0);
        Assert.Equal(64, deepseek.Digest.Length);
        Assert.Equal("0.12.6", version);
    }

    [Fact]
    public async Task Show_returns_model_details_and_404_for_a_missing_model()
    {
        await using var ollama = await OllamaEmulator.StartAsync();
        using var client = Client(ollama);

        var shown = await client.ShowModelAsync(Model);
        var missing = await Assert.ThrowsAsync<HttpRequestException>(() => client.ShowModelAsync("nope:7b"));

        Assert.Contains("FROM deepseek-coder:1.3b", shown.Modelfile);
        Assert.Equal("llama", shown.Details.Family);
        Assert.Contains("completion", shown.Capabilities ?? []);
        Assert.NotNull(shown.Info);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Pull_reports_rising_progress_to_100_and_installs_the_model()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { InstalledModels = [], PullChunks = 5 });
        using var client = Client(ollama);

        var updates = new List<PullModelResponse>();
        await foreach (var update in client.PullModelAsync(Model)) updates.Add(update!);
        var models = await client.ListLocalModelsAsync();

        Assert.Equal("pulling manifest", updates[0].Status);
        Assert.Equal("success", updates[^1].Status);
        var layer = updates.Where(u => u.Digest == updates.First(x => x.Total > 0).Digest && u.Completed > 0).Select(u => u.Percent).ToList();
        Assert.True(layer.Count >= 5);
        Assert.Equal(layer.Order(), layer);
        Assert.Equal(100, layer[^1], 3);
        Assert.Contains(models, m => m.Name == Model);
        Assert.Contains(Model, ollama.InstalledModels);
    }

    [Fact]
    public async Task Pull_of_an_unknown_model_throws_the_manifest_error()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { InstalledModels = [], PullableModels = [Model] });
        using var client = Client(ollama);

        var error = await Assert.ThrowsAsync<ResponseError>(async () =>
        {
            await foreach (var _ in client.PullModelAsync("no-such-model:1b")) { }
        });

        Assert.Contains("file does not exist", error.Message);
        Assert.Empty(ollama.InstalledModels);
    }

    [Fact]
    public async Task Streamed_chat_yields_the_deterministic_answer_with_usage_and_eval_counts()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi-ollama", TokensPerAnswer = 8 });
        IChatClient chat = Client(ollama);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync(Ask("hello pi"))) updates.Add(update);

        var text = string.Concat(updates.Select(u => u.Text));
        Assert.Equal(EmulatorAnswer.Text("pi-ollama", "hello pi", 8), text);
        Assert.StartsWith("pi-ollama " + EmulatorAnswer.Digest("hello pi"), text);
        var last = updates[^1];
        Assert.Equal(ChatFinishReason.Stop, last.FinishReason);
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(8, usage.Details.OutputTokenCount);
        Assert.Equal(2, usage.Details.InputTokenCount);
        var done = Assert.IsType<ChatDoneResponseStream>(last.RawRepresentation);
        Assert.True(done.Done);
        Assert.Equal(8, done.EvalCount);
        Assert.True(done.TotalDuration > 0);
        Assert.Equal("stop", done.DoneReason);
        var recorded = Assert.Single(ollama.Requests.Snapshot(), r => r.Path == "/api/chat");
        Assert.Equal(Model, recorded.Model);
        Assert.Contains(Model, ollama.LoadedModels);
    }

    [Fact]
    public async Task Non_streamed_chat_returns_the_whole_answer_with_usage()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi-ollama", TokensPerAnswer = 6 });
        IChatClient chat = Client(ollama);

        var response = await chat.GetResponseAsync(Ask("one shot"));

        Assert.Equal(EmulatorAnswer.Text("pi-ollama", "one shot", 6), response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(6, response.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task MaxOutputTokens_becomes_num_predict_and_ends_with_length()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { TokensPerAnswer = 20 });
        IChatClient chat = Client(ollama);

        var response = await chat.GetResponseAsync(Ask("long please"), new ChatOptions { MaxOutputTokens = 3 });

        Assert.Equal(3, response.Text.Split(' ').Length);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        using var body = ollama.Requests.Snapshot().Single(r => r.Path == "/api/chat").ParseBody();
        Assert.Equal(3, body.RootElement.GetProperty("options").GetProperty("num_predict").GetInt32());
    }

    [Fact]
    public async Task Json_format_yields_parseable_json()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { Name = "pi-ollama" });
        IChatClient chat = Client(ollama);

        var text = "";
        await foreach (var update in chat.GetStreamingResponseAsync(Ask("json please"), new ChatOptions { ResponseFormat = ChatResponseFormat.Json }))
            text += update.Text;

        using var json = JsonDocument.Parse(text);
        Assert.Equal("pi-ollama", json.RootElement.GetProperty("emulator").GetString());
        Assert.Equal(EmulatorAnswer.Digest("json please"), json.RootElement.GetProperty("digest").GetString());
    }

    [Fact]
    public async Task Chat_with_a_missing_model_is_a_404_HttpRequestException()
    {
        await using var ollama = await OllamaEmulator.StartAsync();
        IChatClient chat = Client(ollama);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => chat.GetResponseAsync(Ask("hi"), new ChatOptions { ModelId = "absent:1b" }));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Error_line_mid_stream_is_swallowed_by_OllamaSharp_and_the_stream_ends_without_done()
    {
        // Documents the OllamaSharp 5.5.2 trap: no exception, partial text, no finish reason, no done chunk.
        await using var ollama = await OllamaEmulator.StartAsync(new() { TokensPerAnswer = 10 });
        ollama.Enqueue(Fault.ErrorMidStream("model runner crashed", afterChunks: 3));
        IChatClient chat = Client(ollama);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync(Ask("crash"))) updates.Add(update);

        Assert.NotEmpty(updates);
        Assert.DoesNotContain(updates, u => u.FinishReason is not null);
        Assert.DoesNotContain(updates, u => u.RawRepresentation is ChatDoneResponseStream);
        Assert.Equal(3, string.Concat(updates.Select(u => u.Text)).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Dropped_connection_mid_stream_surfaces_as_an_IOException()
    {
        await using var ollama = await OllamaEmulator.StartAsync(new() { TokensPerAnswer = 10 });
        ollama.Enqueue(Fault.DropMidStream(afterChunks: 2));
        IChatClient chat = Client(ollama);

        var received = new List<string>();
        var error = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in chat.GetStreamingResponseAsync(Ask("drop"))) received.Add(update.Text);
        });

        Assert.True(error is IOException, $"unexpected {error}");
        Assert.Equal(EmulatorAnswer.Text("ollama-emulator", "drop", 2), string.Concat(received));
    }

    [Fact]
    public async Task Server_error_fault_is_a_500_and_the_next_call_succeeds()
    {
        await using var ollama = await OllamaEmulator.StartAsync();
        ollama.Enqueue(Fault.ServerError());
        IChatClient chat = Client(ollama);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => chat.GetResponseAsync(Ask("a")));
        var ok = await chat.GetResponseAsync(Ask("b"));

        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal(ChatFinishReason.Stop, ok.FinishReason);
    }

    [Fact]
    public async Task Hang_holds_the_call_until_the_client_cancels_and_the_arrival_is_signalled()
    {
        await using var ollama = await OllamaEmulator.StartAsync();
        ollama.Enqueue(Fault.Hang());
        IChatClient chat = Client(ollama);
        using var cts = new CancellationTokenSource();

        var call = chat.GetResponseAsync(Ask("wait"), cancellationToken: cts.Token);
        var arrived = await ollama.WaitForRequestAsync("/api/chat", Timeout);
        Assert.False(call.IsCompleted);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(Model, arrived.Model);
    }

    [Fact]
    public async Task Delete_removes_the_model_and_ps_lists_loaded_models()
    {
        await using var ollama = await OllamaEmulator.StartAsync();
        using var client = Client(ollama);
        await ((IChatClient)client).GetResponseAsync(Ask("load it"), new ChatOptions
        {
            AdditionalProperties = new() { ["keep_alive"] = "10m" },
        });

        var running = (await client.ListRunningModelsAsync()).ToList();
        await client.DeleteModelAsync(Model);
        var missing = await Assert.ThrowsAsync<HttpRequestException>(() => client.DeleteModelAsync(Model));

        Assert.Equal(Model, Assert.Single(running).Name);
        Assert.Empty(ollama.InstalledModels);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
