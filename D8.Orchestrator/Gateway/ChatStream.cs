using System.Text.Json;
using D8.Contracts;
using Microsoft.AspNetCore.Http.Features;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// A streaming call (<c>stream: true</c>) as Server-Sent Events in OpenAI's chunk format. Pieces the worker relays
/// (<see cref="Streaming.TaskStreamHub"/>) are forwarded as they come; the task itself is watched too, and when it ends
/// whatever of its stored content was not sent yet follows, then the finish chunk, the usage chunk when
/// <c>stream_options.include_usage</c> asked, and <c>data: [DONE]</c>. Nothing is written before the first piece, so a
/// call given up while queued still answers 429 with OpenAI's error body; a failure after content ends the stream with
/// an error event, as OpenAI does.
/// </summary>
internal static class ChatStream
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public static async Task<string> RunAsync(ChatCall call)
    {
        using var subscription = call.Gateway.Hub.Subscribe(call.TaskId);
        var writer = new Writer(call);
        var end = call.WaitForEndAsync();
        var deltas = subscription.Deltas;
        Task<bool>? more = deltas.WaitToReadAsync(call.Aborted).AsTask();
        try
        {
            while (!end.IsCompleted)
            {
                await (more is null ? (Task)end : Task.WhenAny(more, end));
                if (more is { IsCompleted: true })
                {
                    if (!await more)
                    {
                        more = null; // the relay ended; the rest comes from the stored result
                        continue;
                    }
                    while (deltas.TryRead(out var piece))
                    {
                        await writer.ContentAsync(piece);
                    }
                    more = deltas.WaitToReadAsync(call.Aborted).AsTask();
                }
            }
        }
        catch (OperationCanceledException) when (call.Aborted.IsCancellationRequested)
        {
            // Writing to a client that left: the task is cancelled below when the wait notices.
        }
        var view = await end;
        if (call.Disconnected || call.Aborted.IsCancellationRequested)
        {
            await call.CancelQuietlyAsync("cancelled: the OpenAI client hung up");
            return "disconnected";
        }
        try
        {
            return await FinishAsync(call, writer, view);
        }
        catch (OperationCanceledException) when (call.Aborted.IsCancellationRequested)
        {
            return "disconnected";
        }
    }

    private static async Task<string> FinishAsync(ChatCall call, Writer writer, TaskView? view)
    {
        if (view is null)
        {
            if (!writer.Started)
            {
                await call.WriteGaveUpAsync();
                return "rate_limited";
            }
            await writer.ErrorAsync(OpenAiErrors.Server(
                $"The task {call.TaskId} failed over after part of its answer was streamed; it was cancelled and the stream ends here."));
            return "failed";
        }
        if (view.State != TaskState.Succeeded || view.Result is not { } result)
        {
            var (status, error, outcome) = ChatCall.ErrorOf(view);
            if (writer.Started)
            {
                await writer.ErrorAsync(error);
            }
            else
            {
                await OpenAiErrors.WriteAsync(call.Http, status, error);
            }
            return outcome;
        }
        writer.Model = result.Model ?? writer.Model;
        if (!writer.Started)
        {
            call.Http.Response.Headers[ChatGateway.WorkerHeader] = result.WorkerName ?? result.WorkerId ?? "";
        }
        // The relay's pieces are a prefix of the stored content: send the part not sent yet.
        if (writer.Sent < result.Content.Length)
        {
            await writer.ContentAsync(result.Content[writer.Sent..]);
        }
        await writer.StartAsync();
        await writer.ChunkAsync(new ChunkDelta(), ChatCall.FinishReason(result.FinishReason));
        if (call.Body.StreamOptions?.IncludeUsage == true)
        {
            await writer.WriteAsync(new ChatCompletionChunk(writer.Id, call.Created, writer.Model, []) { Usage = ChatCall.UsageOf(result.Usage) });
        }
        await writer.RawAsync(Done);
        return "ok";
    }

    /// <summary>Writes the event stream; starts it (status, headers, the role chunk) at the first content.</summary>
    private sealed class Writer(ChatCall call)
    {
        public string Id { get; } = ChatCall.CompletionId(call.TaskId);
        public string Model { get; set; } = call.Body.Model!;
        public bool Started { get; private set; }
        /// <summary>Characters of content sent so far.</summary>
        public int Sent { get; private set; }

        public async Task ContentAsync(string piece)
        {
            if (piece.Length == 0)
            {
                return;
            }
            await StartAsync();
            if (Sent == 0)
            {
                call.Gateway.Telemetry.FirstToken(call.Elapsed);
                call.ContentSent = true;
            }
            Sent += piece.Length;
            await ChunkAsync(new ChunkDelta { Content = piece }, null);
        }

        public async Task StartAsync()
        {
            if (Started)
            {
                return;
            }
            Started = true;
            call.Gateway.Telemetry.Waited(call.Elapsed, stream: true);
            var response = call.Http.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            if (!response.Headers.ContainsKey(ChatGateway.WorkerHeader)
                && await call.Gateway.Engine.GetAsync(call.TaskId, TimeSpan.Zero, CancellationToken.None) is { LeasedBy: { } workerId })
            {
                response.Headers[ChatGateway.WorkerHeader] =
                    call.Gateway.Engine.Workers().FirstOrDefault(w => w.Id == workerId)?.Name ?? workerId;
            }
            call.Http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await ChunkAsync(new ChunkDelta { Role = "assistant", Content = "" }, null);
        }

        public Task ChunkAsync(ChunkDelta delta, string? finishReason) =>
            WriteAsync(new ChatCompletionChunk(Id, call.Created, Model, [new ChunkChoice(0, delta, finishReason)]));

        public Task WriteAsync(ChatCompletionChunk chunk) =>
            EventAsync(JsonSerializer.SerializeToUtf8Bytes(chunk, OpenAiWireContext.Default.ChatCompletionChunk));

        /// <summary>OpenAI's mid-stream error: a data event holding <c>{"error": {…}}</c>, and no [DONE].</summary>
        public Task ErrorAsync(OpenAiError error) =>
            EventAsync(JsonSerializer.SerializeToUtf8Bytes(new OpenAiErrorBody(error), OpenAiWireContext.Default.OpenAiErrorBody));

        public async Task RawAsync(byte[] bytes)
        {
            await call.Http.Response.Body.WriteAsync(bytes, call.Aborted);
            await call.Http.Response.Body.FlushAsync(call.Aborted);
        }

        private async Task EventAsync(byte[] json)
        {
            var body = call.Http.Response.Body;
            await body.WriteAsync(DataPrefix, call.Aborted);
            await body.WriteAsync(json, call.Aborted);
            await body.WriteAsync(EventEnd, call.Aborted);
            await body.FlushAsync(call.Aborted);
        }
    }
}
