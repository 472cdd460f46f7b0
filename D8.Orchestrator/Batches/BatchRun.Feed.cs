using System.Globalization;
using D8.Contracts;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Feeding: the input file is read again, line by line, and each line without an outcome becomes a task once a slot
/// of the window (D8_BATCH_WINDOW live tasks) is free, so a 50,000-line batch holds at most a window of bodies in
/// memory. Before a line is submitted, <see cref="BatchRecord.FedThrough"/> is stored past it; after a restart the
/// lines up to it may have tasks (resubmitting with the same key finds them), the lines after it have none.
/// </summary>
public sealed partial class BatchRun
{
    /// <summary>Lines the feeder may run ahead of its stored high-water mark (one row write per this many lines).</summary>
    private const int FedAhead = 256;
    private static readonly TimeSpan WatchWait = TimeSpan.FromSeconds(30);

    private async Task FeedAsync(CancellationToken ct)
    {
        var done = _store.DoneLines(Id);
        var path = _store.BodyPath(Record.InputFileId);
        using var window = new SemaphoreSlim(_options.Window, _options.Window);
        var watchers = new List<Task>();
        int resumeMark;
        lock (_gate) resumeMark = Record.FedThrough;
        await foreach (var (number, text) in BatchLines.ReadAsync(path, ct).ConfigureAwait(false))
        {
            if (done.Contains(number)) continue;
            var stopping = _stop.IsCancellationRequested;
            // Stopping: lines this process has not reached have no task, except up to the mark an earlier process
            // stored: those may have one, which must be found (same key) and cancelled.
            if (stopping && number > resumeMark) break;
            int fedThrough;
            lock (_gate) fedThrough = Record.FedThrough;
            await window.WaitAsync(ct).ConfigureAwait(false);
            if (!stopping && _stop.IsCancellationRequested && number > resumeMark)
            {
                // Stopped while this line waited for a slot: it never had a task.
                window.Release();
                break;
            }
            if (number > fedThrough) MarkFed(number + FedAhead - 1);
            var line = BatchLines.Parse(number, text, Record.Endpoint, _time.GetUtcNow());
            if (line.Task is null)
            {
                // Valid at validation, refused now (cannot happen with the same mapper; kept as an outcome, not lost).
                watchers.Add(RecordAsync(BatchOutput.Error(Id, line.CustomId, line.Error!), window));
                continue;
            }
            var request = line.Task with
            {
                IdempotencyKey = Id + ":" + number.ToString(CultureInfo.InvariantCulture),
                Priority = line.Task.Priority ?? Record.Priority,
                Labels = WithBatchLabel(line.Task.Labels),
            };
            watchers.Add(WatchAsync(number, line.CustomId!, request, stopping, window, ct));
            if (watchers.Count >= 4 * _options.Window) watchers.RemoveAll(w => w.IsCompleted);
        }
        await Task.WhenAll(watchers).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        if (_stop.IsCancellationRequested) await RecordStoppedAsync(path, ct).ConfigureAwait(false);
    }

    private void MarkFed(int through)
    {
        lock (_gate)
        {
            Record.FedThrough = through;
            _store.Save(Record);
        }
    }

    private IReadOnlyDictionary<string, string> WithBatchLabel(IReadOnlyDictionary<string, string>? labels)
    {
        var all = labels is null ? new Dictionary<string, string>(1) : new Dictionary<string, string>(labels);
        all["d8_batch"] = Id;
        return all;
    }

    /// <summary>Submits (or re-attaches to) one line's task, waits for its end and records the outcome.</summary>
    private async Task WatchAsync(int number, string customId, SubmitTaskRequest request, bool cancelAtOnce,
        SemaphoreSlim window, CancellationToken ct)
    {
        try
        {
            TaskView view;
            try
            {
                (view, _) = await _engine.SubmitAsync(request, null, null).ConfigureAwait(false);
                _live[number] = view.Id;
                if (cancelAtOnce || _stop.IsCancellationRequested) await CancelTaskAsync(view.Id).ConfigureAwait(false);
                while (!view.State.IsTerminal()) view = await _engine.GetAsync(view.Id, WatchWait, ct).ConfigureAwait(false);
            }
            catch (EngineException e)
            {
                // The task is gone (retention) or was refused: the line failed, with the engine's reason.
                await SaveOutcome(new BatchError("task_failed", $"Line {number}: {e.Message}", null, number), customId).ConfigureAwait(false);
                return;
            }
            await SaveOutcome(BatchOutput.Of(Id, number, customId, view)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Host shutdown: the line has no outcome yet and is re-attached at the next start.
        }
        finally
        {
            _live.TryRemove(number, out _);
            window.Release();
        }
    }

    private async Task RecordAsync(ResultRow row, SemaphoreSlim window)
    {
        try
        {
            await SaveOutcome(row).ConfigureAwait(false);
        }
        finally
        {
            window.Release();
        }
    }

    private Task SaveOutcome(BatchError error, string? customId) => SaveOutcome(BatchOutput.Error(Id, customId, error));

    /// <summary>Stores one outcome and counts it (a line that already had one is not counted twice).</summary>
    private async Task SaveOutcome(ResultRow row)
    {
        if (!await _writer.WriteAsync(row).ConfigureAwait(false)) return;
        _telemetry.Line(row.Ok);
        lock (_gate)
        {
            if (row.Ok) Record.Completed++;
            else Record.Failed++;
        }
    }

    /// <summary>After a stop: every line still without an outcome goes to the error file as batch_cancelled or batch_expired.</summary>
    private async Task RecordStoppedAsync(string path, CancellationToken ct)
    {
        var done = _store.DoneLines(Id);
        string code, message;
        lock (_gate)
        {
            (code, message) = Record.Ending == BatchStatus.Expired
                ? ("batch_expired", "This request could not be executed before the completion window expired.")
                : ("batch_cancelled", "The batch was cancelled before this request ran.");
        }
        var pending = new List<Task>();
        await foreach (var (number, text) in BatchLines.ReadAsync(path, ct).ConfigureAwait(false))
        {
            if (done.Contains(number)) continue;
            var customId = BatchLines.Parse(number, text, Record.Endpoint, _time.GetUtcNow()).CustomId ?? "";
            pending.Add(SaveOutcome(BatchOutput.Stopped(Id, number, customId, code, message)));
            if (pending.Count >= ErrorFlushEvery)
            {
                await Task.WhenAll(pending).ConfigureAwait(false);
                pending.Clear();
            }
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }
}
