using System.Globalization;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Scheduling.Placement;
using D8.Orchestrator.Security;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The authoritative queue, as a facade: it holds the lock and the change set, and answers today's public API — the
/// client API (this file), the worker protocol (<c>SchedulingEngine.Workers.cs</c>, over <see cref="LeaseProtocol"/>),
/// housekeeping and start-up — by opening one lock region per call over the types it owns: <see cref="TaskLifecycle"/>
/// (a task's state machine), the placement strategy (<see cref="FifoPlacement"/> or <see cref="FastestPlacement"/>),
/// <see cref="LeaseBook"/>, <see cref="TaskQueues"/>, <see cref="Fleet"/> and <see cref="WorkerRegistry"/>,
/// <see cref="SpeedBook"/> and <see cref="WaitReasons"/> (docs/ARCHITECTURE.md has the map). Each lock region records
/// its changes in a <see cref="ChangeSet"/> and flushes them to the store's group-commit writer before leaving the lock
/// (so rows are written in the order they changed), and callers answer only after that commit completes. Finished
/// tasks leave memory once durable; reads of them go to the store, outside the lock.
/// </summary>
public sealed partial class SchedulingEngine
{
    private readonly EngineState _s;
    private readonly Lock _gate;
    private readonly ITaskStore _store;
    private readonly OrchestratorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SchedulingEngine> _logger;
    private readonly TaskIndex _tasks;
    private readonly IdempotencyIndex _idempotency;
    private readonly WorkerRegistry _workers;
    private readonly TaskQueues _queues;
    private readonly TaskLifecycle _lifecycle;
    private readonly Fleet _fleet;
    private readonly WaitReasons _reasons;
    private readonly LeaseProtocol _leases;

    /// <summary>Loads live tasks, workers and counters from the store and rebuilds the queues.</summary>
    public SchedulingEngine(ITaskStore store, OrchestratorOptions options, TimeProvider time,
        OrchestratorTelemetry telemetry, ILogger<SchedulingEngine> logger, Random? random = null)
    {
        _s = new EngineState(store, options, time, telemetry, random ?? new Random());
        (_gate, _store, _options, _time, _logger) = (_s.Gate, store, options, time, logger);
        (_tasks, _idempotency, _workers, _queues) = (_s.Tasks, _s.Idempotency, _s.Workers, _s.Queues);
        // The one place the scheduler's kind is looked at: everything that differs between the two is in its strategy.
        _lifecycle = new TaskLifecycle(_s, logger, lifecycle => options.Scheduler == SchedulerKind.Fastest
            ? new FastestPlacement(_s, lifecycle, logger)
            : new FifoPlacement(_s, lifecycle));
        _fleet = new Fleet(_s, _lifecycle, logger);
        _reasons = new WaitReasons(_s);
        _leases = new LeaseProtocol(_s, _lifecycle, _fleet, ReadStored);
        Load(store.Load(Now - options.IdempotencyWindow));
        telemetry.SetStateCounts(() => { lock (_gate) { return _tasks.Counts(); } });
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    private IPlacementStrategy Placement => _lifecycle.Placement;

    /// <summary>Runs <paramref name="read"/> in a lock region of its own (the short reads below).</summary>
    private T Locked<T>(Func<T> read)
    {
        lock (_gate)
        {
            return read();
        }
    }

    /// <summary>A worker holds at most this share of its slots as speculative copies (at least one).</summary>
    public const int CopySlotsDivisor = LeaseBook.CopySlotsDivisor;

    /// <summary>Consecutive heartbeats that must leave a lease out before it is taken back (<see cref="LeaseBook.OrphanBeats"/>).</summary>
    internal const int OrphanBeats = LeaseBook.OrphanBeats;

    /// <summary>The tokens that work right now: the credential handler asks these, not the engine.</summary>
    public WorkerCredentials Credentials => _workers.Credentials;

    /// <summary>Raised under the lock when a streamed task reaches a terminal state (the hub completes its readers).</summary>
    public event Action<string>? StreamEnded
    {
        add => _lifecycle.StreamEnded += value;
        remove => _lifecycle.StreamEnded -= value;
    }

    // ------------------------------------------------------------------ views for tests

    /// <summary>Tasks held in memory (live ones, plus finished ones until their final write is durable).</summary>
    internal int TasksInMemory => Locked(() => _tasks.Count);

    /// <summary>What the engine holds in memory; each stays bounded by live work, the idempotency window and the forget age.</summary>
    internal EngineFootprint Footprint() =>
        Locked(() => new EngineFootprint(_tasks.Count, _queues.Count, _idempotency.Count, _workers.Count));

    /// <summary>Workers placement has read as candidates against another so far (<see cref="SpeedBook.MembersRead"/>).</summary>
    internal long SpeedReads => Locked(() => _s.Speeds.MembersRead);

    /// <summary>Parked lease polls placement reads, and those parked aside because their workers cannot take a lease.</summary>
    internal (int InGroups, int Aside) ParkedSplit() => Locked(() => _s.Parked.Split());

    /// <summary>Long-polls parked right now: lease requests, and task gets with ?wait= (tests wait on these instead of sleeping).</summary>
    internal (int LeasePolls, int TaskWaits) Parked() => Locked(() => (_s.Parked.Count, _s.TerminalWaiters.Count));

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
                    var task = _lifecycle.Submit(request, now, traceParent, traceState);
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
                signal = _s.TerminalWaiters.Add(id);
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
                _s.TerminalWaiters.Remove(id, signal);
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
                _lifecycle.Cancel(task, Now, reason);
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
    public IReadOnlyList<WorkerView> Workers() =>
        Locked(() => _workers.All.OrderBy(w => w.RegisteredAt).Select(w => TaskViews.Of(w, _s.Speeds.SpeedsOf(w))).ToList());

    /// <summary>Counters for /api/stats (finished tasks: those still in the store).</summary>
    public StatsView Stats() => Locked(() => EngineStats.Of(_s, Placement.Name));

    /// <summary>A finished task from the store (outside the lock), or null.</summary>
    private TaskRecord? ReadStored(string id) =>
        _store.ReadTask(id) is { } row ? StoreRows.Record(row) : null;

    /// <summary>Ends a lock region (see <see cref="EngineState.Flush"/>).</summary>
    private Task Flush() => _s.Flush();

    /// <summary>
    /// Why tasks of this requirement (kind, provider, model) would wait for a worker — the reason a queued task's view
    /// gives when it is unroutable — or null when a registered (not gone) worker can serve them. Prompt evolution
    /// shows it on a run whose tasks nobody can take.
    /// </summary>
    public string? UnroutableReason(string kind, string? provider, string? model) =>
        Locked(() => _reasons.Unroutable(kind, provider, model));

    /// <summary>
    /// Why a queued task waits, or null when it is not queued (or unknown): no worker serves it, its workers are
    /// unhealthy (with their status), offline, draining, cooling down, out of budget or busy, or it waits out a retry
    /// backoff; null as well when a worker with a free slot serves it (it only waits its turn). The OpenAI door says
    /// it in its 429; a queued task's view carries it as <c>reason</c>.
    /// </summary>
    public string? WaitReason(string taskId) => Locked(() => _tasks.TryGet(taskId, out var task) ? _reasons.Of(task) : null);

    /// <summary>How many of <paramref name="taskIds"/> are in memory and queued (one lock for all of them).</summary>
    public int CountQueued(IEnumerable<string> taskIds) =>
        Locked(() => taskIds.Count(id => _tasks.TryGet(id, out var task) && task.State == TaskState.Queued));

    /// <summary>A task's view with its wait reason when queued (under the lock); a page passes one <paramref name="perQueue"/>.</summary>
    private TaskView ViewWithReason(TaskRecord task, Dictionary<RoutingQueue, string?>? perQueue = null) =>
        TaskViews.Of(task, _reasons.Of(task, perQueue));
}
