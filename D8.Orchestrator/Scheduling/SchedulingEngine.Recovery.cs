using D8.Contracts;
using D8.Orchestrator.Storage;

namespace D8.Orchestrator.Scheduling;

/// <summary>Start-up: rebuilds memory from the store's live rows.</summary>
public sealed partial class SchedulingEngine
{
    /// <summary>
    /// Loads workers, live tasks, counters and recent idempotency keys (finished tasks stay in the store). Leases
    /// survive a restart; each gets at least one lease duration from now, because the holder's heartbeats failed
    /// while we were down through no fault of its own.
    /// </summary>
    private void Load(StoreSnapshot snapshot)
    {
        var now = Now;
        foreach (var row in snapshot.Workers)
        {
            var worker = StoreRows.Record(row);
            if (worker.State != WorkerState.Gone && worker.LastHeartbeat < now)
            {
                worker.LastHeartbeat = now;
            }
            _workers[worker.Id] = worker;
            if (worker.State != WorkerState.Gone) _tokenHashes[worker.Id] = worker.TokenHash;
        }
        foreach (var (state, count) in snapshot.CountsByState)
        {
            _tasks.AdjustCount(state, count);
        }
        _nextSeq = snapshot.MaxSeq + 1;
        _tokensReported = snapshot.TokensReported;
        foreach (var row in snapshot.Idempotency)
        {
            _idempotency.Add(row.Key, row.TaskId, row.CreatedAt);
        }
        var live = new List<TaskRecord>(snapshot.LiveTasks.Count);
        foreach (var row in snapshot.LiveTasks)
        {
            var task = StoreRows.Record(row);
            task.Created = Task.CompletedTask;
            if (task.IdempotencyKey is { } key)
            {
                _idempotency.Add(key, task.Id, task.CreatedAt);
            }
            _tasks.Add(task, counted: false);
            task.Queue = QueueFor(task.Kind, task.Provider, task.Model);
            task.Queue.LiveTasks++;
            live.Add(task);
        }
        foreach (var task in live)
        {
            if (task.State == TaskState.Leased)
            {
                if (task.LeasedBy is { } wid && _workers.TryGetValue(wid, out var worker) && worker.State != WorkerState.Gone)
                {
                    worker.Leases.Add(task.Id);
                    var grace = now + _options.LeaseDuration;
                    if (task.LeaseExpiresAt < grace) task.LeaseExpiresAt = grace;
                }
                else
                {
                    TakeBack(task, now, $"worker '{task.LeasedBy}' is gone after the orchestrator restarted");
                }
            }
            else if (task.NotBefore > now)
            {
                _delayed.Add(task);
                task.Queue!.Delayed++;
            }
            else
            {
                task.Queue!.Ready.Add(task);
                task.InReadySet = true;
            }
        }
        RevokeRotatedWorkers();
        RecomputeRoutability();
        _ = Flush();
        LogLoaded(live.Count, _tasks.CountOf(TaskState.Queued), _tasks.CountOf(TaskState.Leased), _workers.Count,
            _tasks.CountOf(TaskState.Succeeded) + _tasks.CountOf(TaskState.Failed) + _tasks.CountOf(TaskState.Cancelled));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Tasks} live tasks ({Queued} queued, {Leased} leased) and {Workers} workers from the store; {Finished} finished tasks stay there")]
    private partial void LogLoaded(int tasks, long queued, long leased, int workers, long finished);
}
