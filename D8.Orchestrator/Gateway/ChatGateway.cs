using System.Diagnostics;
using System.Globalization;
using D8.Contracts;
using D8.Orchestrator.Http;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Streaming;
using D8.Orchestrator.Tasks;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// One <c>POST /v1/chat/completions</c> call: read and map the body, check the model, submit a durable task, wait for
/// it (queueing instead of 429, up to the max wait), then answer as OpenAI does; a client that hangs up cancels its task.
/// </summary>
public sealed partial class ChatGateway(
    SchedulingEngine engine,
    ModelCatalog catalog,
    GatewayOptions options,
    TaskStreamHub hub,
    GatewayTelemetry telemetry,
    TimeProvider time,
    ILogger<ChatGateway> logger)
{
    public const string TaskIdHeader = "x-d8-task-id";
    public const string WorkerHeader = "x-d8-worker";
    public const string PriorityHeader = "x-d8-priority";
    public const string MaxWaitHeader = "x-d8-max-wait-seconds";

    internal SchedulingEngine Engine => engine;
    internal TaskStreamHub Hub => hub;
    internal GatewayTelemetry Telemetry => telemetry;
    internal TimeProvider Time => time;

    public async Task HandleAsync(HttpContext http)
    {
        var started = time.GetTimestamp();
        var body = await RequestReader.ReadAsync(http.Request, OpenAiWireContext.Default.ChatCompletionRequest);
        var stream = body.Stream == true;
        var (task, maxWait, refusal) = Prepare(body, http.Request);
        if (refusal is not null)
        {
            telemetry.Finished(refusal.Code == "model_not_found" ? "model_not_found" : "invalid_request", stream);
            await OpenAiErrors.WriteAsync(http, refusal.Code == "model_not_found" ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, refusal);
            return;
        }

        using var activity = OrchestratorTelemetry.Start("d8.gateway.chat_completions");
        activity?.SetTag("d8.gateway.model", body.Model);
        activity?.SetTag("d8.gateway.stream", stream);
        // The span just started (or the request's own) is what the task's worker run continues: one trace per call.
        var context = activity ?? Activity.Current;
        var (view, _) = await engine.SubmitAsync(task!, context?.Id, context?.TraceStateString);
        activity?.SetTag("d8.task.id", view.Id);
        http.Response.Headers[TaskIdHeader] = view.Id;
        telemetry.Opened(view.Id);
        var call = new ChatCall(this, http, body, view, time.GetUtcNow() + maxWait, maxWait, started);
        try
        {
            var outcome = stream ? await ChatStream.RunAsync(call) : await AnswerAsync(call);
            activity?.SetTag("d8.gateway.outcome", outcome);
            telemetry.Finished(outcome, stream);
        }
        finally
        {
            telemetry.Closed(view.Id);
        }
    }

    /// <summary>The task to submit, the call's max wait, or the error that refuses the call before any task exists.</summary>
    private (SubmitTaskRequest? Task, TimeSpan MaxWait, OpenAiError? Error) Prepare(ChatCompletionRequest body, HttpRequest request)
    {
        var mapped = ChatRequestMapper.Map(body);
        if (!mapped.IsValid)
        {
            return (null, default, mapped.Error);
        }
        var task = mapped.Task;
        var priority = request.Headers[PriorityHeader].ToString();
        if (priority.Length > 0)
        {
            if (!ChatRequestMapper.TryParsePriority(priority, out var p))
            {
                return (null, default, OpenAiErrors.BadRequest(
                    $"The {PriorityHeader} header '{priority}' must be a whole number from 0 (lowest) to 9 (highest).", PriorityHeader, "invalid_value"));
            }
            task = task with { Priority = p };
        }
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 0)
        {
            task = task with { IdempotencyKey = key };
        }
        var maxWait = options.MaxWait;
        var rawWait = request.Headers[MaxWaitHeader].ToString();
        if (rawWait.Length > 0)
        {
            if (!double.TryParse(rawWait, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                || double.IsNaN(seconds) || seconds <= 0 || seconds > options.MaxWait.TotalSeconds)
            {
                return (null, default, OpenAiErrors.BadRequest(
                    $"The {MaxWaitHeader} header '{rawWait}' must be a number of seconds above 0 and at most {options.MaxWait.TotalSeconds:0} ({GatewayOptions.MaxWaitKey}).",
                    MaxWaitHeader, "invalid_value"));
            }
            maxWait = TimeSpan.FromSeconds(seconds);
        }
        var errors = SubmitValidation.Validate(task, time.GetUtcNow());
        if (errors.Count > 0)
        {
            var (field, messages) = errors.First();
            return (null, default, OpenAiErrors.BadRequest(string.Join(" ", messages), field, "invalid_value"));
        }
        if (!catalog.Serves(task.Provider, task.Model))
        {
            return (null, default, OpenAiErrors.ModelNotFound(body.Model!, catalog.ExactIds()));
        }
        return (task, maxWait, null);
    }

    private static async Task<string> AnswerAsync(ChatCall call)
    {
        var view = await call.WaitForEndAsync();
        if (view is null)
        {
            if (call.Disconnected)
            {
                return "disconnected";
            }
            await call.WriteGaveUpAsync();
            return "rate_limited";
        }
        if (view.State == TaskState.Succeeded && view.Result is { } result)
        {
            call.Gateway.Telemetry.Waited(call.Elapsed - TimeSpan.FromMilliseconds(result.DurationMs ?? 0), stream: false);
            call.Http.Response.Headers[WorkerHeader] = result.WorkerName ?? result.WorkerId ?? "";
            var completion = ChatCall.CompletionOf(view, result, call.Body.Model!);
            await TypedResults.Json(completion, OpenAiWireContext.Default.ChatCompletion).ExecuteAsync(call.Http);
            return "ok";
        }
        var (status, error, outcome) = ChatCall.ErrorOf(view);
        await OpenAiErrors.WriteAsync(call.Http, status, error);
        return outcome;
    }

    internal void LogGaveUp(string taskId, TimeSpan maxWait, string? reason) => LogGiveUp(taskId, maxWait.TotalSeconds, reason ?? "busy");

    [LoggerMessage(Level = LogLevel.Information,
        Message = "OpenAI call for task {TaskId} waited {MaxWaitSeconds} s for a worker: answered 429 and cancelled the task ({Reason})")]
    private partial void LogGiveUp(string taskId, double maxWaitSeconds, string reason);
}
