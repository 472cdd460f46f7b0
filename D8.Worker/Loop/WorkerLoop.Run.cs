using System.Collections.Concurrent;
using System.Net;
using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Execution;
using D8.Worker.Health;
using D8.Worker.RateLimits;
using D8.Worker.Relay;
using D8.Worker.Telemetry;

namespace D8.Worker.Loop;

/// <summary>Running one lease: budget, provider call with timeout, and turning the outcome into a report.</summary>
public sealed partial class WorkerLoop
{
    /// <param name="lease">The task to run.</param>
    /// <param name="answered">Set once the provider has answered and only the success report is left: the slot may
    /// ask for its next lease meanwhile.</param>
    /// <returns>How long this slot should wait before it asks for another lease (zero: at once).</returns>
    private async Task<TimeSpan> RunLeaseAsync(TaskLease lease, TaskCompletionSource? answered = null)
    {
        using var run = new InFlightRun(lease);
        using var relay = lease.Stream ? new StreamRelay(session.Worker, lease, StreamRelay.BufferChars, log) : null;
        _inFlight[lease.LeaseId] = run;
        var model = lease.Model ?? options.DefaultModel;
        using var activity = WorkerTelemetry.StartRun(lease, options.ProviderName, model);
        LogRunning(lease.TaskId, lease.Attempt, model);
        var estimate = ProviderBudget.Estimate(lease.Messages.Select(m => m.Content), lease.MaxTokens);
        try
        {
            if (!budget.TryTake(estimate))
            {
                // The slot asked for a lease only once a request fitted, but this one is larger (tokens) or another slot
                // spent the room: hand the task back at once (no attempt counted) rather than hold it while waiting.
                var refill = budget.WaitFor(estimate);
                var (workerCooldown, slotPause) = AfterBudgetRelease(refill, options.BudgetTimeScale);
                _cooldown.Extend(workerCooldown);
                if (workerCooldown > TimeSpan.Zero) LogDailyBudgetSpent(refill.TotalMinutes);
                await FailAsync(run, FailureKind.Released,
                    $"the worker's provider budget (D8_RPM/D8_TPM/D8_RPD) has no room for it for {refill.TotalSeconds:F1} s", null).ConfigureAwait(false);
                return slotPause;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(run.Token);
            timeout.CancelAfter(options.RequestTimeout);
            RunResult result;
            try
            {
                result = await runner.RunAsync(lease, timeout.Token, relay is null ? null : relay.Add).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && run.Reason == StopReason.None)
            {
                throw new TimeoutException($"the provider call took longer than D8_REQUEST_TIMEOUT_SECONDS ({options.RequestTimeout.TotalSeconds}s)");
            }
            if (result.TokensPerSecond is { } tps) _lastTokensPerSecond = tps;
            activity?.SetTag("gen_ai.usage.output_tokens", result.Usage?.CompletionTokens);
            answered?.TrySetResult();
            if (relay is not null)
            {
                await relay.CloseAsync(StreamRelay.Drain, time).ConfigureAwait(false);
                activity?.SetTag("d8.stream.relayed_chars", relay.Relayed);
            }
            await ReportAsync(run, (client, ct) => client.CompleteAsync(lease.TaskId, new CompleteTaskRequest
            {
                LeaseId = lease.LeaseId,
                Content = result.Content,
                FinishReason = result.FinishReason,
                Model = result.Model,
                Usage = result.Usage,
                TimeToFirstTokenMs = result.TimeToFirstTokenMs,
                DurationMs = result.DurationMs,
                TokensPerSecond = result.TokensPerSecond,
            }, ct)).ConfigureAwait(false);
            telemetry.Record("succeeded", result.TokensPerSecond, result.TimeToFirstTokenMs);
            LogSucceeded(lease.TaskId, result.Usage?.CompletionTokens, result.TokensPerSecond);
        }
        catch (Exception) when (run.Reason != StopReason.None)
        {
            relay?.Abandon();
            // Stopped (cancelled, lease lost, released): whatever the cut stream threw (a cancellation, or a provider
            // client's "stream ended early") is the stop's doing, not a provider failure.
            telemetry.Record(run.Reason.ToString().ToLowerInvariant(), null, null);
            LogStopped(lease.TaskId, run.Reason);
            if (run.Reason == StopReason.Cancelled)
            {
                await FailAsync(run, FailureKind.Cancelled, "cancelled at the client's request", null).ConfigureAwait(false);
            }
            else if (run.Reason == StopReason.Released)
            {
                await FailAsync(run, FailureKind.Released, "the worker is shutting down", null).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            relay?.Abandon();
            var failure = ErrorClassifier.Classify(e, time.GetUtcNow());
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, failure.Message);
            telemetry.Record(failure.Class.ToString().ToLowerInvariant(), null, null);
            LogFailed(lease.TaskId, failure.Class, failure.Status, failure.Message);
            switch (failure.Class)
            {
                case FailureClass.RateLimited:
                    budget.Refund(estimate);
                    var wait = failure.RetryAfter ?? TimeSpan.FromSeconds(5);
                    _cooldown.Extend(wait);
                    await FailAsync(run, FailureKind.RateLimited, failure.Message, time.GetUtcNow() + wait).ConfigureAwait(false);
                    break;
                case FailureClass.Unauthorized:
                    health.SetUnauthorized(true);
                    LogUnauthorized(failure.Status);
                    await FailAsync(run, FailureKind.Released, "the provider rejected this worker's API key", null).ConfigureAwait(false);
                    break;
                case FailureClass.Permanent:
                    await FailAsync(run, FailureKind.Permanent, failure.Message, null).ConfigureAwait(false);
                    break;
                default:
                    await FailAsync(run, FailureKind.Transient, failure.Message, null).ConfigureAwait(false);
                    break;
            }
        }
        finally
        {
            _inFlight.TryRemove(lease.LeaseId, out _);
        }
        return TimeSpan.Zero;
    }

    /// <summary>
    /// A leased task did not fit the budget (another slot spent the room, or it needs more tokens than are free):
    /// only this slot waits until it would fit, while the others go on asking for leases with what is free now (the
    /// fastest scheduler hands them tasks that fit). Only a spent daily budget (a wait of an hour or more) stops the
    /// whole worker.
    /// </summary>
    internal static (TimeSpan WorkerCooldown, TimeSpan SlotPause) AfterBudgetRelease(TimeSpan refill, int budgetTimeScale) =>
        refill >= TimeSpan.FromHours(1) / Math.Max(1, budgetTimeScale) ? (refill, TimeSpan.Zero) : (TimeSpan.Zero, refill);

    [LoggerMessage(Level = LogLevel.Information, Message = "Running task {TaskId} (attempt {Attempt}) on model {Model}")]
    private partial void LogRunning(string taskId, int attempt, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} succeeded: {Tokens} tokens at {TokensPerSecond:F1} tokens/s")]
    private partial void LogSucceeded(string taskId, int? tokens, double? tokensPerSecond);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} stopped: {Reason}")]
    private partial void LogStopped(string taskId, StopReason reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} failed as {Class} (status {Status}): {Message}")]
    private partial void LogFailed(string taskId, FailureClass @class, int? status, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "The provider rejected the API key ({Status}): check D8_PROVIDER_API_KEY. The worker reports itself unhealthy and leases nothing until a probe succeeds")]
    private partial void LogUnauthorized(int? status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Daily request budget (D8_RPD) spent; not leasing for {Minutes:F0} min")]
    private partial void LogDailyBudgetSpent(double minutes);
}
