using D8.Contracts;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Gateway;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Validation: one pass over the input file. A bad line (invalid JSON, wrong method or url, a body the chat endpoint
/// would refuse, a model no registered worker serves, a custom_id seen before) becomes an error row with its line
/// number; the others will run. Only the custom_ids are held (to find repeats), never the bodies. A file that is
/// missing, empty or over 50,000 requests fails the batch.
/// </summary>
public sealed partial class BatchRun
{
    private const int ErrorFlushEvery = 500;

    /// <summary>True when the batch moved on to in_progress (or cancelling); false when it failed.</summary>
    private async Task<bool> ValidateAsync(CancellationToken ct)
    {
        _store.ClearResults(Id);
        var path = _store.BodyPath(Record.InputFileId);
        if (!File.Exists(path))
        {
            Fail(new BatchError("invalid_input_file", $"The input file {Record.InputFileId} no longer exists.", "input_file_id"));
            return false;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var models = new Dictionary<(string?, string?), bool>();
        var pending = new List<Task<bool>>();
        int total = 0, bad = 0;
        await foreach (var (number, text) in BatchLines.ReadAsync(path, ct).ConfigureAwait(false))
        {
            if (++total > BatchOptions.MaxRequests)
            {
                Fail(new BatchError("too_many_requests",
                    $"The input file has more than {BatchOptions.MaxRequests} requests; split it into several batches.", "input_file_id", number));
                return false;
            }
            var line = BatchLines.Parse(number, text, Record.Endpoint, _time.GetUtcNow());
            var error = line.Error;
            if (line.CustomId is { } customId && !seen.Add(customId) && error is null)
            {
                error = new BatchError("duplicate_custom_id", $"Line {number}: custom_id '{customId}' was already used by an earlier line.", "custom_id", number);
            }
            if (error is null && line.Task is { } task && ModelProblem(task, models) is { } problem)
            {
                error = new BatchError(problem.Code ?? "model_not_found", $"Line {number}: {problem.Message}", "body.model", number);
            }
            if (error is null) continue;
            bad++;
            pending.Add(_writer.WriteAsync(BatchOutput.Error(Id, line.CustomId, error)));
            _telemetry.Line(ok: false);
            if (pending.Count >= ErrorFlushEvery)
            {
                await Task.WhenAll(pending).ConfigureAwait(false);
                pending.Clear();
            }
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
        if (total == 0)
        {
            Fail(new BatchError("empty_file", $"The input file {Record.InputFileId} holds no request lines.", "input_file_id"));
            return false;
        }
        lock (_gate)
        {
            Record.Total = total;
            Record.Failed = bad;
            Record.InProgressAt = _time.GetUtcNow();
            if (Record.Status == BatchStatus.Validating) Record.Status = BatchStatus.InProgress;
            _store.Save(Record);
        }
        LogValidated(Id, total, bad);
        return true;
    }

    /// <summary>The 404 the chat endpoint gives for a model no registered worker serves, or null when one does.</summary>
    private OpenAiError? ModelProblem(SubmitTaskRequest task, Dictionary<(string?, string?), bool> cache)
    {
        var key = (task.Provider, task.Model);
        if (!cache.TryGetValue(key, out var served)) cache[key] = served = _models.Serves(task.Provider, task.Model);
        return served ? null : OpenAiErrors.ModelNotFound(task.Provider is null ? task.Model ?? "" : task.Provider + "/" + task.Model, _models.ExactIds());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} validated: {Total} requests, {Bad} refused")]
    private partial void LogValidated(string batchId, int total, int bad);
}
