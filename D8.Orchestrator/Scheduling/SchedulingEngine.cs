using System.Globalization;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The authoritative queue: tasks, workers, leases, retries, routing. Live state lives in memory behind one lock;
/// each lock region records its changes in a <see cref="ChangeSet"/> and flushes them to the store's group-commit
/// writer before leaving the lock (so rows are written in the order they changed), and callers answer only after
/// that commit completes. Finished tasks leave memory once durable; reads of them go to the store, outside the lock.
/// This file: state and the client API. Worker protocol, transitions, housekeeping and recovery are in the
/// SchedulingEngine.*.cs files beside it.
/// </summary>
public sealed partial class SchedulingEngine
{
    private readonly Lock _gate = new();
    private readonly ITaskStore _store;
    private readonly OrchestratorOptions _options;
    private readonly TimeProvider _time;
    private readonly OrchestratorTelemetry _telemetry;
    private readonly ILogger<SchedulingEngine> _logger;
    private readonly Random _random;

    private readonly TaskIndex _tasks = new();
    private readonly IdempotencyIndex _idempotency = new();
    private readonly Dictionary<string, RoutingQueue> _queues = new(StringComparer.Ordinal);
    private readonly SortedSet<TaskRecord> _delayed = new(NotBeforeOrder.Instance);
    private readonly Dictionary<string, WorkerRecord> _workers = new(StringComparer.Ordinal);
    // Token hash of every worker not gone, written under the lock and read without it: authenticating a worker's
    // request must not queue behind placement for the engine lock (10,000 workers: ~8 % of the orchestrator's thread
    // samples were authentication waiting for it, docs/fleet-scale.md).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _tokenHashes = new(StringComparer.Ordinal);
    private readonly ParkedPolls _parked = new();
    /// <summary>Workers whose last heartbeat reported budget windows (the only ones that can be request-bound).</summary>
    private readonly HashSet<WorkerRecord> _budgeted = [];
    private long _nextWaiterSeq;
    private readonly Dictionary<string, List<TaskCompletionSource<Task>>> _terminalWaiters = new(StringComparer.Ordinal);
    private readonly ChangeSet _changes;

    private long _nextSeq = 1;
    private long _tokensReported;

    /// <summary>Loads live tasks, workers and counters from the store and rebuilds the queues.</summary>
    public SchedulingEngine(ITaskStore store, OrchestratorOptions options, TimeProvider time,
        OrchestratorTelemetry telemetry, ILogger<SchedulingEngine> logger, Random? random = null)
    {
        _store = store;
        _options = options;
        _time = time;
        _telemetry = telemetry;
        _logger = logger;
        _random = random ?? new Random();
        _changes = new ChangeSet(store);
        Load(store.Load(Now - options.IdempotencyWindow));
        telemetry.SetStateCounts(() => { lock (_gate) { return _tasks.Counts(); } });
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Tasks held in memory (live ones, plus finished ones until their final write is durable).</summary>
    public int TasksInMemory
    {
        get { lock (_gate) { return _tasks.Count; } }
    }

    /// <summary>What the engine holds in memory; each stays bounded by live work, the idempotency window and the forget age.</summary>
    public EngineFootprint Footprint()
    {
        lock (_gate)
        {
            return new EngineFootprint(_tasks.Count, _queues.Count, _idempotency.Count, _workers.Count);
        }
    }

    /// <summary>Long-polls parked right now: lease requests, and task gets with ?wait= (tests wait on these instead of sleeping).</summary>
    public (int LeasePolls, int TaskWaits) Parked()
    {
        lock (_gate)
        {
            return (_parked.Count, _terminalWaiters.Values.Sum(l => l.Count));
        }
    }

    // ------------------------------------------------------------------ client API

    /// <summary>Accepts a validated task; with a known idempotency key returns the existing task instead.</summary>
    public async Task<(TaskView View, bool Duplicate)> SubmitAsync(SubmitTaskRequest request, string? traceParent, string? traceState)
    {
        while (true)
        {
            Task commit;
            TaskView? view = null;
            var duplicate = true;
            string? finishedId = null;
            lock (_gate)
            {
                var now = Now;
                if (request.IdempotencyKey is { } key && _idempotency.TryGet(key, out var existingId))
                {
                    if (_tasks.TryGet(existingId, out var existing))
                    {
                        view = TaskViews.Of(existing);
                        commit = existing.Created;
                    }
                    else
                    {
                        finishedId = existingId;
                        commit = Task.CompletedTask;
                    }
                }
                else
                {
                    var task = NewTask(request, now, traceParent, traceState);
                    _tasks.Add(task);
                    if (task.IdempotencyKey is { } k)
                    {
                        _idempotency.Add(k, task.Id, now);
                    }
                    task.Queue = QueueFor(task.Kind, task.Provider, task.Model);
                    task.Queue.LiveTasks++;
                    _changes.Task(task);
                    MakeReady(task, now);
                    view = TaskViews.Of(task);
                    duplicate = false;
                    commit = Flush();
                    task.Created = commit;
                }
            }
            if (view is not null)
            {
                await commit.ConfigureAwait(false);
                return (view, duplicate);
            }
            if (ReadStored(finishedId!) is { } stored)
            {
                return (TaskViews.Of(stored), true);
            }
            // Deleted by retention in the meantime: the key no longer names a task.
            lock (_gate)
            {
                if (_idempotency.TryGet(request.IdempotencyKey!, out var id) && id == finishedId)
                {
                    _idempotency.Remove(request.IdempotencyKey!);
                }
            }
        }
    }

    /// <summary>Gets a task; with a wait, returns as soon as it is terminal (and durable) or the wait ends.</summary>
    public async Task<TaskView> GetAsync(string id, TimeSpan wait, CancellationToken ct)
    {
        TaskCompletionSource<Task> signal;
        lock (_gate)
        {
            if (!_tasks.TryGet(id, out var task))
            {
                signal = null!;
            }
            else if (task.State.IsTerminal() || wait <= TimeSpan.Zero)
            {
                return ViewWithReason(task);
            }
            else
            {
                signal = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (!_terminalWaiters.TryGetValue(id, out var list))
                {
                    _terminalWaiters[id] = list = [];
                }
                list.Add(signal);
            }
        }
        if (signal is null)
        {
            return TaskViews.Of(ReadStored(id) ?? throw EngineException.NotFound("Task", id));
        }
        try
        {
            var commit = await signal.Task.WaitAsync(wait, _time, ct).ConfigureAwait(false);
            await commit.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The wait ended first: answer with the task as it is now.
        }
        finally
        {
            lock (_gate)
            {
                if (_terminalWaiters.TryGetValue(id, out var list) && list.Remove(signal) && list.Count == 0)
                {
                    _terminalWaiters.Remove(id);
                }
            }
        }
        lock (_gate)
        {
            if (_tasks.TryGet(id, out var task))
            {
                return ViewWithReason(task);
            }
        }
        return TaskViews.Of(ReadStored(id) ?? throw EngineException.NotFound("Task", id));
    }

    /// <summary>
    /// Newest first; <paramref name="cursor"/> is the seq of the last item of the previous page. Live tasks come from
    /// memory, finished ones from the store; memory is read first, so a task finishing meanwhile is in one or the other.
    /// </summary>
    public TaskPage List(TaskState? state, int limit, long? cursor)
    {
        var page = new List<(long Seq, TaskView View)>(Math.Min(limit + 1, 256));
        var reasons = new Dictionary<RoutingQueue, string?>();
        lock (_gate)
        {
            foreach (var task in _tasks.Newest(state, cursor))
            {
                if (page.Count > limit) break;
                page.Add((task.Seq, ViewWithReason(task, reasons)));
            }
        }
        if (state is not { } s || s.IsTerminal())
        {
            var inMemory = page.Select(p => p.View.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var row in _store.ReadFinished(state, cursor, limit + 1))
            {
                if (!inMemory.Contains(row.Id)) page.Add((row.Seq, TaskViews.Of(StoreRows.Record(row))));
            }
            page.Sort((a, b) => b.Seq.CompareTo(a.Seq));
        }
        var more = page.Count > limit;
        if (more) page.RemoveRange(limit, page.Count - limit);
        return new TaskPage(page.Select(p => p.View).ToList(),
            more ? page[^1].Seq.ToString(CultureInfo.InvariantCulture) : null);
    }

    /// <summary>
    /// Cancels a task. A leased task is cancelled at once; its worker hears of it in the next heartbeat.
    /// <paramref name="reason"/> is kept as the task's reason (the OpenAI door says why it gave up on a call).
    /// </summary>
    public async Task<TaskView> CancelAsync(string id, string reason = "cancelled by client")
    {
        Task commit;
        TaskView view;
        lock (_gate)
        {
            if (_tasks.TryGet(id, out var task))
            {
                if (task.State == TaskState.Leased && task.LeasedBy is { } wid && _workers.TryGetValue(wid, out var worker))
                {
                    worker.PendingCancels.Add(task.Id);
                }
                if (!task.State.IsTerminal())
                {
                    Finish(task, TaskState.Cancelled, Now, reason);
                }
                view = CancelAnswer(task);
                commit = Flush();
            }
            else
            {
                view = null!;
                commit = Task.CompletedTask;
            }
        }
        if (view is null)
        {
            return CancelAnswer(ReadStored(id) ?? throw EngineException.NotFound("Task", id));
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    private static TaskView CancelAnswer(TaskRecord task) => task.State switch
    {
        TaskState.Succeeded or TaskState.Failed => throw EngineException.Conflict(
            $"Task '{task.Id}' already {WireNames.Of(task.State)}; only queued or leased tasks can be cancelled."),
        _ => TaskViews.Of(task),
    };

    /// <summary>The fleet: registered workers, gone and offline ones included until they are forgotten.</summary>
    public IReadOnlyList<WorkerView> Workers()
    {
        lock (_gate)
        {
            return _workers.Values.OrderBy(w => w.RegisteredAt).Select(w => TaskViews.Of(w, SpeedsOf(w))).ToList();
        }
    }

    /// <summary>Counters for /api/stats (finished tasks: those still in the store).</summary>
    public StatsView Stats()
    {
        lock (_gate)
        {
            var tasks = new Dictionary<string, long>(5);
            for (var i = 0; i < 5; i++)
            {
                tasks[WireNames.Of((TaskState)i)] = _tasks.CountOf((TaskState)i);
            }
            var workers = new Dictionary<string, long>
            {
                ["online"] = 0, ["draining"] = 0, ["offline"] = 0, ["gone"] = 0,
            };
            foreach (var w in _workers.Values)
            {
                workers[WireNames.Of(w.State)]++;
            }
            long unroutable = 0;
            foreach (var q in _queues.Values)
            {
                if (q.Unroutable) unroutable += q.Ready.Count + q.Delayed;
            }
            return new StatsView
            {
                Tasks = tasks,
                Workers = workers,
                Unroutable = unroutable,
                TokensReported = _tokensReported,
                Now = Now,
                Scheduler = Fastest ? "fastest" : "fifo",
                DrainSeconds = DrainSeconds(Now),
                Speculations = _speculations,
                SpeculationsWon = _speculationsWon,
            };
        }
    }

    /// <summary>A finished task from the store (outside the lock), or null.</summary>
    private TaskRecord? ReadStored(string id) =>
        _store.ReadTask(id) is { } row ? StoreRows.Record(row) : null;

    /// <summary>Ends a lock region: evicts finished tasks that became durable, then flushes this region's changes.</summary>
    private Task Flush()
    {
        while (_changes.TryTakeDurable(out var durable))
        {
            foreach (var task in durable) _tasks.Evict(task);
        }
        return _changes.Flush();
    }
}
