using System.Collections.Concurrent;
using D8.Contracts.OpenAi;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Gateway;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Batches;

/// <summary>
/// Hosts the batches: resumes the unfinished ones at start-up, starts new ones, answers the API, and runs retention
/// (batches D8_RETENTION_DAYS after they ended, files past their expires_at). Memory holds only unfinished batches;
/// reads of the others come from the <see cref="BatchStore"/>. The host stopping leaves batches unfinished for the
/// next start.
/// </summary>
public sealed partial class BatchService(
    BatchStore store, BatchResultWriter writer, SchedulingEngine engine, ModelCatalog models, OrchestratorOptions options, BatchOptions batchOptions,
    BatchTelemetry telemetry, TimeProvider time, ILoggerFactory loggers) : IHostedService
{
    /// <summary>The only completion window OpenAI offers (and D8 accepts).</summary>
    public const string CompletionWindow = "24h";
    public const string ChatEndpoint = "/v1/chat/completions";

    private readonly ConcurrentDictionary<string, BatchRun> _runs = new(StringComparer.Ordinal);
    private readonly D8.Orchestrator.Hosting.DriverLoops _loops = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger = loggers.CreateLogger("D8.Orchestrator.Batches");
    private ITimer? _retention;

    /// <summary>Batches held in memory (the unfinished ones).</summary>
    public int BatchesInMemory => _runs.Count;

    public BatchStore Store => store;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        telemetry.Running = () => (_runs.Count, _runs.Values.Sum(r => r.LiveTasks));
        foreach (var record in store.LoadUnfinished())
        {
            (record.Completed, record.Failed) = store.CountResults(record.Id);
            Start(record);
        }
        _retention = time.CreateTimer(_ => Purge(_stopping.Token), null, options.RetentionInterval, options.RetentionInterval);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_retention is not null) await _retention.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loops.WhenAll().WaitAsync(cancellationToken).ConfigureAwait(false);
        await writer.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Starts a batch over a validated request (its input file exists and is a batch file).</summary>
    public OpenAiBatch Create(string inputFileId, Dictionary<string, string>? metadata, int? priority)
    {
        var now = time.GetUtcNow();
        var record = new BatchRecord
        {
            Id = "batch_" + Guid.NewGuid().ToString("N")[..24],
            InputFileId = inputFileId,
            Endpoint = ChatEndpoint,
            CompletionWindow = CompletionWindow,
            Metadata = metadata,
            Priority = priority ?? batchOptions.Priority,
            CreatedAt = now,
            ExpiresAt = now + TimeSpan.FromHours(24),
        };
        store.Save(record);
        return Start(record).View();
    }

    /// <summary>The batch, live or stored; null when unknown.</summary>
    public OpenAiBatch? Get(string id) =>
        _runs.TryGetValue(id, out var run) ? run.View() : store.LoadBatch(id)?.View();

    /// <summary>Newest first after <paramref name="after"/>; live batches answer from memory.</summary>
    public OpenAiList<OpenAiBatch> List(string? after, int limit)
    {
        var rows = store.ListBatches(after, limit + 1);
        var page = rows.Take(limit).Select(r => _runs.TryGetValue(r.Id, out var run) ? run.View() : r.View()).ToList();
        return new OpenAiList<OpenAiBatch>
        {
            Data = page,
            FirstId = page.Count > 0 ? page[0].Id : null,
            LastId = page.Count > 0 ? page[^1].Id : null,
            HasMore = rows.Count > limit,
        };
    }

    /// <summary>Cancels a running batch; null when unknown, and the batch with <c>false</c> when it had already ended.</summary>
    public (OpenAiBatch? Batch, bool Cancelled) Cancel(string id)
    {
        if (_runs.TryGetValue(id, out var run))
        {
            var stopped = run.Stop(BatchStatus.Cancelled);
            return (run.View(), stopped);
        }
        return (store.LoadBatch(id)?.View(), false);
    }

    /// <summary>Completes when the batch's loop has ended (tests and the benchmark wait on this instead of polling).</summary>
    public Task WhenEnded(string id) => _loops.WhenEnded(id);

    /// <summary>One retention pass: ended batches older than D8_RETENTION_DAYS and expired files, in small transactions.</summary>
    public (int Batches, int Files) Purge(CancellationToken ct)
    {
        int batches = 0, files = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                var (b, f) = store.PurgeStep(now, now - options.RetentionAge, options.RetentionBatch);
                batches += b;
                files += f;
                if (b == 0 && f == 0) break;
            }
            if (batches + files > 0) LogPurged(batches, files);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or ObjectDisposedException)
        {
            LogPurgeFailed(e);
        }
        return (batches, files);
    }

    private BatchRun Start(BatchRecord record)
    {
        var run = new BatchRun(record, engine, models, store, writer, batchOptions, telemetry, options.RetentionAge, time, _logger);
        _runs[run.Id] = run;
        _loops.Start(run.Id, () => run.RunAsync(_stopping.Token), () => run.IsTerminal, () => _runs.TryRemove(run.Id, out _));
        return run;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Batches} batches and {Files} files")]
    private partial void LogPurged(int batches, int files);

    [LoggerMessage(Level = LogLevel.Error, Message = "Batch retention failed")]
    private partial void LogPurgeFailed(Exception e);
}
