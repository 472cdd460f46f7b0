using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// The state of one chat call while it waits for its task: the deadline after which a still-queued task is given up
/// (429, task cancelled), the client hanging up (task cancelled), and the shared pieces of OpenAI's answer.
/// </summary>
internal sealed class ChatCall(ChatGateway gateway, HttpContext http, ChatCompletionRequest body, TaskView submitted,
    DateTimeOffset deadline, TimeSpan maxWait, long startedTimestamp)
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    public ChatGateway Gateway { get; } = gateway;
    public HttpContext Http { get; } = http;
    public ChatCompletionRequest Body { get; } = body;
    public string TaskId { get; } = submitted.Id;
    public long Created { get; } = submitted.CreatedAt.ToUnixTimeSeconds();
    public CancellationToken Aborted => Http.RequestAborted;

    /// <summary>The client went away; its task was cancelled and nobody reads an answer.</summary>
    public bool Disconnected { get; private set; }

    /// <summary>
    /// Set once a stream sent content: from then on the task going back to the queue (a failover after content) ends the
    /// call instead of letting another attempt's different text follow.
    /// </summary>
    public bool ContentSent { get; set; }

    /// <summary>Streaming calls re-check their task every second (to notice a return to the queue after content).</summary>
    public bool Stream => Body.Stream == true;

    /// <summary>Why the task still waited when the call gave up (set when <see cref="WaitForEndAsync"/> gave up).</summary>
    public string? GaveUpReason { get; private set; }

    public TimeSpan Elapsed => Gateway.Time.GetElapsedTime(startedTimestamp);

    /// <summary>
    /// Waits until the task ends and returns it; null when the client hung up or the deadline passed while the task was
    /// still queued (the task is cancelled either way). A task running at the deadline is waited for; only a return to
    /// the queue after the deadline gives up.
    /// </summary>
    public async Task<TaskView?> WaitForEndAsync()
    {
        var engine = Gateway.Engine;
        try
        {
            while (true)
            {
                var left = deadline - Gateway.Time.GetUtcNow();
                var slice = left <= TimeSpan.Zero || (Stream && left > Recheck) ? Recheck : left;
                var view = await engine.GetAsync(TaskId, slice, Aborted);
                if (view.State.IsTerminal())
                {
                    return view;
                }
                if (view.State == TaskState.Queued && ContentSent)
                {
                    await CancelQuietlyAsync("cancelled: it went back to the queue after part of its answer was streamed");
                    return null;
                }
                if (view.State == TaskState.Queued && deadline <= Gateway.Time.GetUtcNow())
                {
                    return await GiveUpAsync(view.Reason);
                }
            }
        }
        catch (OperationCanceledException) when (Aborted.IsCancellationRequested)
        {
            Disconnected = true;
            await CancelQuietlyAsync("cancelled: the OpenAI client hung up");
            return null;
        }
    }

    /// <summary>Writes the 429 of a call given up while queued (before anything else was written).</summary>
    public Task WriteGaveUpAsync()
    {
        var why = GaveUpReason ?? "every worker serving it was busy with older or higher-priority tasks";
        return OpenAiErrors.WriteAsync(Http, StatusCodes.Status429TooManyRequests, OpenAiErrors.RateLimited(
                $"No worker took this request within {maxWait.TotalSeconds:0} s ({GatewayOptions.MaxWaitKey} or the {ChatGateway.MaxWaitHeader} header); " +
                $"its task {TaskId} was cancelled. Why it waited: {why}."),
            TimeSpan.FromSeconds(5));
    }

    /// <summary>Cancels the task unless it already ended (used when the answer can no longer be delivered).</summary>
    public async Task CancelQuietlyAsync(string reason)
    {
        try
        {
            await Gateway.Engine.CancelAsync(TaskId, reason);
        }
        catch (EngineException)
        {
            // It ended (or was forgotten) meanwhile: nothing to cancel.
        }
    }

    private async Task<TaskView?> GiveUpAsync(string? reason)
    {
        try
        {
            await Gateway.Engine.CancelAsync(TaskId, $"cancelled: no worker took it within the OpenAI call's max wait of {maxWait.TotalSeconds:0} s");
        }
        catch (EngineException e) when (e.Error == EngineError.Conflict)
        {
            // It finished between the check and the cancel: answer it after all.
            return await Gateway.Engine.GetAsync(TaskId, TimeSpan.Zero, CancellationToken.None);
        }
        GaveUpReason = reason;
        Gateway.LogGaveUp(TaskId, maxWait, reason);
        return null;
    }

    public static string CompletionId(string taskId) => "chatcmpl-" + taskId;

    /// <summary>OpenAI's <c>chat.completion</c> for a succeeded task (a call's answer, and a batch output line's body).</summary>
    public static ChatCompletion CompletionOf(TaskView view, TaskResult result, string requestedModel) =>
        new(CompletionId(view.Id), view.CreatedAt.ToUnixTimeSeconds(), result.Model ?? requestedModel,
            [new ChatChoice(0, new AssistantMessage(result.Content), FinishReason(result.FinishReason))], UsageOf(result.Usage));

    /// <summary>OpenAI's finish reasons; the SDKs refuse any other spelling, so a provider's own (Ollama's "unload"…) reads as stop.</summary>
    public static string FinishReason(string? reason) => reason switch
    {
        "length" or "content_filter" or "tool_calls" or "function_call" => reason,
        _ => "stop",
    };

    public static ChatUsage UsageOf(TokenUsage? usage)
    {
        var prompt = usage?.PromptTokens ?? 0;
        var completion = usage?.CompletionTokens ?? 0;
        return new ChatUsage(prompt, completion, usage?.TotalTokens ?? prompt + completion);
    }

    /// <summary>A task that did not succeed as OpenAI's error: the provider refused it (400), failed (502) or it was cancelled (409).</summary>
    public static (int Status, OpenAiError Error, string Outcome) ErrorOf(TaskView view)
    {
        var reason = view.Reason ?? view.Errors.LastOrDefault()?.Message ?? "no reason recorded";
        if (view.State == TaskState.Cancelled)
        {
            return (StatusCodes.Status409Conflict,
                new OpenAiError($"Task {view.Id} was cancelled: {reason}", OpenAiErrors.InvalidRequest, null, "task_cancelled"), "cancelled");
        }
        if (view.Errors.LastOrDefault()?.Kind == FailureKind.Permanent)
        {
            return (StatusCodes.Status400BadRequest,
                new OpenAiError($"The provider refused the request (task {view.Id}): {reason}", OpenAiErrors.InvalidRequest, null, "provider_refused"), "failed");
        }
        return (StatusCodes.Status502BadGateway,
            new OpenAiError($"Task {view.Id} failed: {reason}", OpenAiErrors.ServerError, null, "task_failed"), "failed");
    }
}
