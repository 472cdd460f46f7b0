using System.Text;
using D8.Contracts.OpenAi;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Finalizing: the stored outcomes are copied in line order into the output file (successes) and the error file
/// (everything else), page by page, each written to a temporary file and then moved into place; one transaction then
/// records both files, the terminal status and drops the outcome rows. A restart in the middle redoes this step: the
/// file ids come from the batch id, so a second pass replaces the first pass's files instead of adding new ones.
/// </summary>
public sealed partial class BatchRun
{
    private const int FinalizePage = 1000;

    private async Task FinalizeAsync(CancellationToken ct)
    {
        string? ending;
        lock (_gate)
        {
            ending = Record.Ending;
            if (ending is null && Record.Status != BatchStatus.Finalizing)
            {
                Record.Status = BatchStatus.Finalizing;
                Record.FinalizingAt = _time.GetUtcNow();
                _store.Save(Record);
            }
        }
        var (completed, failed) = _store.CountResults(Id);
        var files = new List<OpenAiFile>(2);
        var hex = Id["batch_".Length..];
        if (completed > 0) files.Add(await WriteFileAsync($"file-{hex}-output", $"{Id}_output.jsonl", ok: true, ct).ConfigureAwait(false));
        if (failed > 0) files.Add(await WriteFileAsync($"file-{hex}-errors", $"{Id}_errors.jsonl", ok: false, ct).ConfigureAwait(false));
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            Record.Status = ending ?? BatchStatus.Completed;
            switch (Record.Status)
            {
                case BatchStatus.Cancelled: Record.CancelledAt = now; break;
                case BatchStatus.Expired: Record.ExpiredAt = now; break;
                default: Record.CompletedAt = now; break;
            }
            Record.Completed = completed;
            Record.Failed = failed;
            Record.OutputFileId = completed > 0 ? files[0].Id : null;
            Record.ErrorFileId = failed > 0 ? files[^1].Id : null;
            _store.Finish(Record, files);
        }
        _telemetry.Ended(Record.Status);
        LogEnded(Id, Record.Status, completed, failed);
    }

    private async Task<OpenAiFile> WriteFileAsync(string fileId, string name, bool ok, CancellationToken ct)
    {
        var target = _store.BodyPath(fileId);
        var temporary = target + ".tmp";
        long bytes;
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
        {
            var newline = "\n"u8.ToArray();
            var after = 0;
            while (true)
            {
                var page = _store.ReadResults(Id, ok, after, FinalizePage);
                foreach (var (line, data) in page)
                {
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(data), ct).ConfigureAwait(false);
                    await stream.WriteAsync(newline, ct).ConfigureAwait(false);
                    after = line;
                }
                if (page.Count < FinalizePage) break;
            }
            await stream.FlushAsync(ct).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
            bytes = stream.Length;
        }
        File.Move(temporary, target, overwrite: true);
        var now = _time.GetUtcNow();
        return new OpenAiFile
        {
            Id = fileId,
            Filename = name,
            Purpose = "batch_output",
            Bytes = bytes,
            CreatedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = (now + _retention).ToUnixTimeSeconds(),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch {BatchId} {Status}: {Completed} completed, {Failed} failed")]
    private partial void LogEnded(string batchId, string status, int completed, int failed);
}
