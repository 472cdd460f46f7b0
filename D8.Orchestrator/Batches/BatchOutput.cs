using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using D8.Contracts;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Gateway;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Lines of the output and error files in OpenAI's format:
/// <c>{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}</c>. A task that succeeded is a
/// 200 with a <c>chat.completion</c> body (output file); a task that failed has the status and OpenAI error body the
/// chat endpoint would have answered (<see cref="ChatCall.ErrorOf"/>); a line
/// that could not run (bad line, cancelled, expired) has <c>response: null</c> and <c>error: {code, message, param,
/// line}</c> (both error file). <c>request_id</c> is the D8 task id.
/// </summary>
public static class BatchOutput
{
    /// <summary>The row a finished task gives: ok with its completion, or its failure.</summary>
    public static ResultRow Of(string batchId, int line, string customId, TaskView task) => task.State switch
    {
        TaskState.Succeeded when task.Result is { } result => new(batchId, line, true, Write(batchId, line, customId, w =>
        {
            WriteResponse(w, 200, task.Id);
            JsonSerializer.Serialize(w, ChatCall.CompletionOf(task, result, task.Model ?? ""), OpenAiWireContext.Default.ChatCompletion);
            w.WriteEndObject();
            w.WriteNull("error");
        })),
        TaskState.Cancelled => Stopped(batchId, line, customId, "batch_cancelled",
            "The batch was cancelled before this request finished."),
        _ => new(batchId, line, false, Write(batchId, line, customId, w =>
        {
            var (status, error, _) = ChatCall.ErrorOf(task);
            WriteResponse(w, status, task.Id);
            JsonSerializer.Serialize(w, new OpenAiErrorBody(error), OpenAiWireContext.Default.OpenAiErrorBody);
            w.WriteEndObject();
            w.WriteNull("error");
        })),
    };

    /// <summary>The row of a line that never ran: refused by validation, or left when the batch was cancelled or expired.</summary>
    public static ResultRow Error(string batchId, string? customId, BatchError error) =>
        new(batchId, error.Line ?? 0, false, Write(batchId, error.Line ?? 0, customId, w =>
        {
            w.WriteNull("response");
            w.WriteStartObject("error");
            w.WriteString("code", error.Code);
            w.WriteString("message", error.Message);
            if (error.Param is null) w.WriteNull("param");
            else w.WriteString("param", error.Param);
            w.WriteNumber("line", error.Line ?? 0);
            w.WriteEndObject();
        }));

    /// <summary>A line the batch stopped before running (code batch_cancelled or batch_expired).</summary>
    public static ResultRow Stopped(string batchId, int line, string customId, string code, string message) =>
        Error(batchId, customId, new BatchError(code, message, null, line));

    private static void WriteResponse(Utf8JsonWriter w, int status, string taskId)
    {
        w.WriteStartObject("response");
        w.WriteNumber("status_code", status);
        w.WriteString("request_id", taskId);
        w.WritePropertyName("body");
    }

    private static string Write(string batchId, int line, string? customId, Action<Utf8JsonWriter> rest)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", RequestId(batchId, line));
            if (customId is null) w.WriteNull("custom_id");
            else w.WriteString("custom_id", customId);
            rest(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The stable id of one line's outcome: the same after any restart.</summary>
    public static string RequestId(string batchId, int line) =>
        "batch_req_" + batchId.Replace("batch_", "", StringComparison.Ordinal) + "_" + line.ToString(CultureInfo.InvariantCulture);
}
