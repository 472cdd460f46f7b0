using System.Security.Cryptography;
using System.Text.Json;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Security;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// The authoritative queue: tasks, workers, leases, retries, routing. All state lives in memory behind one lock;
/// every mutation appends row snapshots to the store's group-commit writer while the lock is held (so rows are
/// written in the order they changed), and callers answer only after that commit completes.
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

    private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly List<TaskRecord> _bySeq = [];
    private readonly SortedSet<TaskRecord>[] _byState =
        Enumerable.Range(0, 5).Select(_ => new SortedSet<TaskRecord>(SeqOrder.Instance)).ToArray();
    private readonly long[] _stateCounts = new long[5];
    private readonly Dictionary<string, string> _idempotency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RoutingQueue> _queues = new(StringComparer.Ordinal);
    private readonly SortedSet<TaskRecord> _delayed = new(NotBeforeOrder.Instance);
    private readonly Dictionary<string, WorkerRecord> _workers = new(StringComparer.Ordinal);
    private readonly List<LeaseWaiter> _waiters = [];
    private readonly Dictionary<string, List<TaskCompletionSource<Task>>> _terminalWaiters = new(StringComparer.Ordinal);

    // Per lock region: what to write and whom to wake once the write is queued.
    private readonly List<StoreWrite> _writes = [];
    private readonly List<LeaseWaiter> _woken = [];
    private readonly List<TaskCompletionSource<Task>> _terminalWoken = [];

    private long _nextSeq = 1;
    private long _tokensReported;

    /// <summary>Loads every stored task and worker and rebuilds the queues.</summary>
    public SchedulingEngine(ITaskStore store, OrchestratorOptions options, TimeProvider time,
        OrchestratorTelemetry telemetry, ILogger<SchedulingEngine> logger, Random? random = null)
    {
        _store = store;
        _options = options;
        _time = time;
        _telemetry = telemetry;
        _logger = logger;
        _random = random ?? new Random();
        Load(store.Load());
        telemetry.SetStateCounts(() => { lock (_gate) { return (long[])_stateCounts.Clone(); } });
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    // ------------------------------------------------------------------ client API

    /// <summary>Accepts a validated task; with a known idempotency key returns the existing task instead.</summary>
    public async Task<(TaskView View, bool Duplicate)> SubmitAsync(SubmitTaskRequest request, string? traceParent, string? traceState)
    {
        Task commit;
        TaskView view;
        bool duplicate;
        lock (_gate)
        {
            var now = Now;
            if (request.IdempotencyKey is { } key && _idempotency.TryGetValue(key, out var existingId))
            {
                var existing = _tasks[existingId];
                view = ToView(existing);
                duplicate = true;
                commit = existing.Created;
            }
            else
            {
                var task = NewTask(request, now, traceParent, traceState);
                _tasks.Add(task.Id, task);
                _bySeq.Add(task);
                AddState(task);
                if (task.IdempotencyKey is { } k)
                {
                    _idempotency[k] = task.Id;
                }
                task.Queue = QueueFor(task.Kind, task.Provider, task.Model);
                Persist(task);
                MakeReady(task, now);
                view = ToView(task);
                duplicate = false;
                commit = Flush();
                task.Created = commit;
            }
        }
        await commit.ConfigureAwait(false);
        return (view, duplicate);
    }

    /// <summary>Gets a task; with a wait, returns as soon as it is terminal (and durable) or the wait ends.</summary>
    public async Task<TaskView> GetAsync(string id, TimeSpan wait, CancellationToken ct)
    {
        TaskCompletionSource<Task> signal;
        lock (_gate)
        {
            var task = RequireTask(id);
            if (task.State.IsTerminal() || wait <= TimeSpan.Zero)
            {
                return ToView(task);
            }
            signal = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_terminalWaiters.TryGetValue(id, out var list))
            {
                _terminalWaiters[id] = list = [];
            }
            list.Add(signal);
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
            return ToView(RequireTask(id));
        }
    }

    /// <summary>Newest first; <paramref name="cursor"/> is the seq of the last item of the previous page.</summary>
    public TaskPage List(TaskState? state, int limit, long? cursor)
    {
        lock (_gate)
        {
            IEnumerable<TaskRecord> source;
            if (state is { } s)
            {
                var set = _byState[(int)s];
                source = cursor is { } c
                    ? (c <= 1 ? [] : set.GetViewBetween(TaskRecord.Probe(0), TaskRecord.Probe(c - 1)).Reverse())
                    : set.Reverse();
            }
            else
            {
                source = Descending(cursor);
            }
            var items = new List<TaskView>(Math.Min(limit, 256));
            TaskRecord? last = null;
            var more = false;
            foreach (var task in source)
            {
                if (items.Count == limit)
                {
                    more = true;
                    break;
                }
                items.Add(ToView(task));
                last = task;
            }
            return new TaskPage(items, more && last is not null ? last.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        }
    }

    private IEnumerable<TaskRecord> Descending(long? cursor)
    {
        // _bySeq is in ascending seq order (seq is assigned on submit and loaded sorted).
        var end = _bySeq.Count - 1;
        if (cursor is { } c)
        {
            int lo = 0, hi = _bySeq.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_bySeq[mid].Seq < c) lo = mid + 1; else hi = mid;
            }
            end = lo - 1;
        }
        for (var i = end; i >= 0; i--)
        {
            yield return _bySeq[i];
        }
    }

    /// <summary>Cancels a task. A leased task is cancelled at once; its worker hears of it in the next heartbeat.</summary>
    public async Task<TaskView> CancelAsync(string id)
    {
        Task commit;
        TaskView view;
        lock (_gate)
        {
            var now = Now;
            var task = RequireTask(id);
            switch (task.State)
            {
                case TaskState.Cancelled:
                    return ToView(task);
                case TaskState.Succeeded:
                case TaskState.Failed:
                    throw EngineException.Conflict(
                        $"Task '{id}' already {TelemetryName(task.State)}; only queued or leased tasks can be cancelled.");
                case TaskState.Leased when task.LeasedBy is { } wid && _workers.TryGetValue(wid, out var worker):
                    worker.PendingCancels.Add(task.Id);
                    break;
            }
            Finish(task, TaskState.Cancelled, now, "cancelled by client");
            view = ToView(task);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    /// <summary>The fleet: every worker ever registered, gone ones included (with their counters).</summary>
    public IReadOnlyList<WorkerView> Workers()
    {
        lock (_gate)
        {
            return _workers.Values.OrderBy(w => w.RegisteredAt).Select(ToView).ToList();
        }
    }

    /// <summary>Counters for /api/stats.</summary>
    public StatsView Stats()
    {
        lock (_gate)
        {
            var tasks = new Dictionary<string, long>(5);
            for (var i = 0; i < 5; i++)
            {
                tasks[TelemetryName((TaskState)i)] = _stateCounts[i];
            }
            var workers = new Dictionary<string, long>
            {
                ["online"] = 0, ["draining"] = 0, ["offline"] = 0, ["gone"] = 0,
            };
            foreach (var w in _workers.Values)
            {
                workers[OrchestratorTelemetry.StateName(w.State)]++;
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
            };
        }
    }

    // ------------------------------------------------------------------ worker protocol

    /// <summary>Registers a worker and returns its token (only the token's hash is kept).</summary>
    public async Task<RegisterWorkerResponse> RegisterAsync(RegisterWorkerRequest request)
    {
        Task commit;
        RegisterWorkerResponse response;
        lock (_gate)
        {
            var now = Now;
            var id = NewId();
            var token = $"{id}.{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
            var worker = new WorkerRecord
            {
                Id = id,
                Name = request.Name,
                Provider = request.Provider.ToLowerInvariant(),
                Models = request.Models.ToArray(),
                TaskKinds = request.TaskKinds is { Count: > 0 } kinds ? kinds.ToArray() : ["chat"],
                MaxConcurrency = Math.Max(1, request.MaxConcurrency),
                Host = request.Host,
                Version = request.Version,
                TokenHash = TokenHasher.Hash(token),
                State = WorkerState.Online,
                RegisteredAt = now,
                LastHeartbeat = now,
            };
            _workers.Add(id, worker);
            PersistWorker(worker);
            RecomputeRoutability();
            // Tasks that were unroutable may now fit this worker; nothing waits for them, so no wake-up is needed.
            commit = Flush();
            response = new RegisterWorkerResponse(id, token, _options.HeartbeatInterval.TotalSeconds,
                _options.LeaseDuration.TotalSeconds);
            LogRegistered(worker.Id, worker.Name, worker.Provider, string.Join(',', worker.Models));
        }
        await commit.ConfigureAwait(false);
        return response;
    }

    /// <summary>The worker a token belongs to, or null. Compares token hashes in constant time.</summary>
    public string? AuthenticateWorker(string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return null;
        }
        var id = token[..dot];
        string? hash;
        lock (_gate)
        {
            if (!_workers.TryGetValue(id, out var worker) || worker.State == WorkerState.Gone)
            {
                return null;
            }
            hash = worker.TokenHash;
        }
        return TokenHasher.Matches(token, hash) ? id : null;
    }

    /// <summary>Liveness: renews every lease the worker holds and tells it what to cancel, what it lost, whether to drain.</summary>
    public async Task<HeartbeatResponse> HeartbeatAsync(string workerId, HeartbeatRequest request)
    {
        Task commit;
        HeartbeatResponse response;
        lock (_gate)
        {
            var now = Now;
            var worker = RequireLiveWorker(workerId);
            var wasHealthy = worker.Healthy;
            Touch(worker, now);
            worker.InFlight = request.InFlight;
            worker.TokensPerSecond = request.TokensPerSecond;
            worker.Healthy = request.Healthy;
            worker.Status = request.Status;

            var expires = now + _options.LeaseDuration;
            var held = new HashSet<string>(StringComparer.Ordinal);
            foreach (var taskId in worker.Leases)
            {
                var task = _tasks[taskId];
                task.LeaseExpiresAt = expires;
                held.Add(task.LeaseId!);
                Persist(task);
            }
            var lost = new List<string>(worker.LostLeases);
            foreach (var leaseId in request.LeaseIds ?? [])
            {
                if (!held.Contains(leaseId) && !lost.Contains(leaseId))
                {
                    lost.Add(leaseId);
                }
            }
            response = new HeartbeatResponse
            {
                CancelTaskIds = worker.PendingCancels.ToArray(),
                LostLeases = lost,
                Drain = worker.Drain,
                LeaseExpiresAt = expires,
                CooldownUntil = worker.CooldownUntil > now ? worker.CooldownUntil : null,
            };
            worker.PendingCancels.Clear();
            worker.LostLeases.Clear();
            PersistWorker(worker);
            if (!wasHealthy && worker.Healthy)
            {
                WakeWaitersOf(worker);
            }
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return response;
    }

    /// <summary>
    /// Long-poll: returns up to <paramref name="max"/> leases as soon as eligible tasks exist, or none when the wait
    /// ends. A worker in cooldown, draining, unhealthy or at its concurrency limit waits without being given tasks.
    /// </summary>
    public async Task<IReadOnlyList<TaskLease>> LeaseAsync(string workerId, int max, TimeSpan wait, CancellationToken ct)
    {
        var deadline = Now + wait;
        while (true)
        {
            var leases = new List<TaskLease>();
            LeaseWaiter? waiter = null;
            Task commit;
            TimeSpan sleep;
            lock (_gate)
            {
                var now = Now;
                var worker = RequireLiveWorker(workerId);
                Touch(worker, now);
                PromoteDue(now);
                TakeEligible(worker, max, now, leases);
                if (leases.Count == 0 && now < deadline)
                {
                    waiter = new LeaseWaiter(worker, max);
                    _waiters.Add(waiter);
                }
                commit = Flush();
                sleep = deadline - now;
                if (worker.CooldownUntil is { } until && until > now && until - now < sleep)
                {
                    sleep = until - now;
                }
            }
            if (waiter is null)
            {
                await commit.ConfigureAwait(false);
                return leases;
            }

            try
            {
                await waiter.Woken.Task.WaitAsync(sleep, _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Wait (or cooldown) over: look again below.
            }
            catch (OperationCanceledException)
            {
                // The caller went away: whatever was handed to it goes straight back to the queue.
                lock (_gate)
                {
                    _waiters.Remove(waiter);
                    foreach (var lease in waiter.Leases)
                    {
                        if (_tasks.TryGetValue(lease.TaskId, out var task) && task.LeaseId == lease.LeaseId)
                        {
                            task.Attempts--;
                            Requeue(task, Now, TimeSpan.Zero);
                        }
                    }
                    _ = Flush();
                }
                throw;
            }

            lock (_gate)
            {
                _waiters.Remove(waiter);
                leases = waiter.Leases;
                commit = waiter.Commit;
            }
            if (leases.Count > 0)
            {
                await commit.ConfigureAwait(false);
                return leases;
            }
            if (Now >= deadline)
            {
                return leases;
            }
        }
    }

    /// <summary>Records a result. Idempotent on the lease id; a stale lease is refused (409).</summary>
    public async Task<TaskView> CompleteAsync(string taskId, string workerId, CompleteTaskRequest request)
    {
        Task commit;
        TaskView view;
        lock (_gate)
        {
            var now = Now;
            var task = RequireTask(taskId);
            var worker = RequireWorker(workerId);
            if (task.State == TaskState.Succeeded && task.FinalLeaseId == request.LeaseId && task.LeasedBy == workerId)
            {
                return ToView(task);
            }
            if (task.State == TaskState.Cancelled && task.FinalLeaseId == request.LeaseId)
            {
                throw EngineException.Conflict($"Task '{taskId}' was cancelled; its result is discarded.");
            }
            RequireCurrentLease(task, workerId, request.LeaseId);
            task.Result = new TaskResult
            {
                Content = request.Content,
                FinishReason = request.FinishReason,
                Model = request.Model ?? task.Model,
                Provider = worker.Provider,
                WorkerId = worker.Id,
                WorkerName = worker.Name,
                Usage = request.Usage,
                TimeToFirstTokenMs = request.TimeToFirstTokenMs,
                DurationMs = request.DurationMs,
                TokensPerSecond = request.TokensPerSecond,
            };
            // Counters are not written here: they are recounted from the task rows at start-up (one row less per task).
            worker.TasksSucceeded++;
            _tokensReported += TokensOf(request.Usage);
            _telemetry.TokensReported(request.Usage, worker.Provider);
            Finish(task, TaskState.Succeeded, now, null);
            view = ToView(task);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    /// <summary>Records a failed attempt and decides: retry (with backoff), another worker, or failure.</summary>
    public async Task<TaskView> FailAsync(string taskId, string workerId, FailTaskRequest request)
    {
        Task commit;
        TaskView view;
        lock (_gate)
        {
            var now = Now;
            var task = RequireTask(taskId);
            var worker = RequireWorker(workerId);
            if (task.State.IsTerminal() && task.FinalLeaseId == request.LeaseId && task.LeasedBy == workerId)
            {
                // A repeated report, or a cancelled task's worker confirming it stopped.
                return ToView(task);
            }
            RequireCurrentLease(task, workerId, request.LeaseId);
            var message = request.Message.Length > 4000 ? request.Message[..4000] : request.Message;
            var error = new TaskAttemptError(task.Attempts, request.Kind, message, workerId, now);
            switch (request.Kind)
            {
                case FailureKind.RateLimited:
                    task.Attempts--;
                    task.Errors.Add(error);
                    var retryAfter = request.RetryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : _options.DefaultRetryAfter;
                    worker.CooldownUntil = now + retryAfter;
                    PersistWorker(worker);
                    Requeue(task, now, TimeSpan.Zero);
                    break;
                case FailureKind.Released:
                    task.Attempts--;
                    Requeue(task, now, TimeSpan.Zero);
                    break;
                case FailureKind.Cancelled:
                    Finish(task, TaskState.Cancelled, now, "cancelled by worker: " + message);
                    break;
                case FailureKind.Permanent:
                    task.Errors.Add(error);
                    worker.TasksFailed++;
                    Finish(task, TaskState.Failed, now, message);
                    break;
                default:
                    task.Errors.Add(error);
                    worker.TasksFailed++;
                    RetryOrFail(task, now, message);
                    break;
            }
            view = ToView(task);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    /// <summary>Graceful leave: the worker's leases go back to the queue at once, without burning attempts.</summary>
    public async Task DeregisterAsync(string workerId)
    {
        Task commit;
        lock (_gate)
        {
            var now = Now;
            var worker = RequireWorker(workerId);
            if (worker.State == WorkerState.Gone)
            {
                return;
            }
            worker.State = WorkerState.Gone;
            foreach (var taskId in worker.Leases.ToArray())
            {
                var task = _tasks[taskId];
                task.Attempts--;
                Requeue(task, now, TimeSpan.Zero);
            }
            WakeWaitersOf(worker);
            PersistWorker(worker);
            RecomputeRoutability();
            commit = Flush();
            LogDeregistered(worker.Id, worker.Name);
        }
        await commit.ConfigureAwait(false);
    }

    /// <summary>Asks a worker to drain: no new leases; the heartbeat answer says drain.</summary>
    public async Task<WorkerView> DrainAsync(string workerId)
    {
        Task commit;
        WorkerView view;
        lock (_gate)
        {
            var worker = RequireWorker(workerId);
            if (worker.State == WorkerState.Gone)
            {
                throw EngineException.Conflict($"Worker '{workerId}' has left the fleet.");
            }
            worker.Drain = true;
            if (worker.State == WorkerState.Online)
            {
                worker.State = WorkerState.Draining;
            }
            PersistWorker(worker);
            view = ToView(worker);
            commit = Flush();
        }
        await commit.ConfigureAwait(false);
        return view;
    }

    /// <summary>
    /// Periodic housekeeping: due retries become leasable, expired leases go back (attempt counted), silent workers go
    /// offline, queued tasks past their deadline fail. Driven by a timer in the host; tests call it directly.
    /// </summary>
    public Task SweepAsync()
    {
        lock (_gate)
        {
            var now = Now;
            PromoteDue(now);

            List<TaskRecord>? expired = null;
            foreach (var task in _byState[(int)TaskState.Leased])
            {
                if (task.LeaseExpiresAt <= now) (expired ??= []).Add(task);
            }
            foreach (var task in expired ?? [])
            {
                var workerId = task.LeasedBy!;
                if (_workers.TryGetValue(workerId, out var worker))
                {
                    worker.LostLeases.Add(task.LeaseId!);
                    worker.TasksFailed++;
                }
                var message = $"lease expired: no heartbeat from worker '{workerId}' for {_options.LeaseDuration.TotalSeconds:0} s";
                task.Errors.Add(new TaskAttemptError(task.Attempts, FailureKind.Transient, message, workerId, now));
                LogLeaseExpired(task.Id, workerId, task.Attempts);
                RetryOrFail(task, now, message);
            }

            foreach (var worker in _workers.Values)
            {
                if (worker.State is WorkerState.Online or WorkerState.Draining && now - worker.LastHeartbeat > _options.OfflineAfter)
                {
                    worker.State = WorkerState.Offline;
                    PersistWorker(worker);
                    LogOffline(worker.Id, worker.Name);
                }
            }

            List<TaskRecord>? late = null;
            foreach (var task in _byState[(int)TaskState.Queued])
            {
                if (task.Deadline <= now) (late ??= []).Add(task);
            }
            foreach (var task in late ?? [])
            {
                Finish(task, TaskState.Failed, now, "deadline passed");
            }
            return Flush();
        }
    }

    // ------------------------------------------------------------------ internals (all called under _gate)

    private TaskRecord NewTask(SubmitTaskRequest r, DateTimeOffset now, string? traceParent, string? traceState)
    {
        var messages = r.Messages is { Count: > 0 } m
            ? m.ToArray()
            : r.System is { } system
                ? [new ChatMessage("system", system), new ChatMessage("user", r.Prompt!)]
                : new[] { new ChatMessage("user", r.Prompt!) };
        return new TaskRecord
        {
            Id = NewId(),
            Seq = _nextSeq++,
            State = TaskState.Queued,
            Kind = string.IsNullOrWhiteSpace(r.Kind) ? "chat" : r.Kind,
            Messages = messages,
            Model = r.Model,
            Provider = r.Provider?.ToLowerInvariant(),
            Temperature = r.Temperature,
            MaxTokens = r.MaxTokens,
            JsonMode = r.JsonMode,
            Priority = r.Priority ?? 5,
            Deadline = r.Deadline,
            IdempotencyKey = r.IdempotencyKey,
            Labels = r.Labels,
            CreatedAt = now,
            UpdatedAt = now,
            ReadyAt = now,
            MaxAttempts = _options.MaxAttempts,
            TraceParent = traceParent,
            TraceState = traceState,
        };
    }

    private static string NewId() => Guid.CreateVersion7().ToString("N");

    private TaskRecord RequireTask(string id) =>
        _tasks.TryGetValue(id, out var task) ? task : throw EngineException.NotFound("Task", id);

    private WorkerRecord RequireWorker(string id) =>
        _workers.TryGetValue(id, out var worker) ? worker : throw EngineException.NotFound("Worker", id);

    private WorkerRecord RequireLiveWorker(string id)
    {
        var worker = RequireWorker(id);
        return worker.State == WorkerState.Gone
            ? throw EngineException.Conflict($"Worker '{id}' has deregistered; register again.")
            : worker;
    }

    private static void RequireCurrentLease(TaskRecord task, string workerId, string leaseId)
    {
        if (task.State != TaskState.Leased || !string.Equals(task.LeaseId, leaseId, StringComparison.Ordinal))
        {
            throw EngineException.Conflict(
                $"Lease '{leaseId}' is not the current lease of task '{task.Id}' (it expired, was taken back, or the task " +
                $"is {TelemetryName(task.State)}); the report is refused so the task keeps exactly one result.");
        }
        if (!string.Equals(task.LeasedBy, workerId, StringComparison.Ordinal))
        {
            throw new EngineException(StatusCodes.Status403Forbidden, "Forbidden",
                $"Lease '{leaseId}' belongs to another worker.");
        }
    }

    /// <summary>Marks a worker alive; an offline worker that speaks again is back.</summary>
    private void Touch(WorkerRecord worker, DateTimeOffset now)
    {
        worker.LastHeartbeat = now;
        if (worker.State == WorkerState.Offline)
        {
            worker.State = worker.Drain ? WorkerState.Draining : WorkerState.Online;
            PersistWorker(worker);
        }
    }

    private bool CanLeaseNow(WorkerRecord worker, DateTimeOffset now) =>
        worker.State == WorkerState.Online
        && worker.Healthy
        && !worker.Drain
        && (worker.CooldownUntil is not { } until || until <= now)
        && worker.Leases.Count < worker.MaxConcurrency;

    /// <summary>Leases up to <paramref name="max"/> of the best ready tasks this worker can serve.</summary>
    private void TakeEligible(WorkerRecord worker, int max, DateTimeOffset now, List<TaskLease> leases)
    {
        List<RoutingQueue>? eligible = null;
        foreach (var q in _queues.Values)
        {
            if (q.Ready.Count > 0 && worker.CanServe(q.Kind, q.Provider, q.Model)) (eligible ??= []).Add(q);
        }
        if (eligible is null)
        {
            return;
        }
        while (leases.Count < max && CanLeaseNow(worker, now))
        {
            RoutingQueue? best = null;
            TaskRecord? head = null;
            foreach (var q in eligible)
            {
                if (q.Ready.Count == 0) continue;
                var candidate = q.Ready.Min!;
                if (head is null || PriorityOrder.Instance.Compare(candidate, head) < 0)
                {
                    head = candidate;
                    best = q;
                }
            }
            if (head is null)
            {
                return;
            }
            best!.Ready.Remove(head);
            head.InReadySet = false;
            if (head.Deadline <= now)
            {
                Finish(head, TaskState.Failed, now, "deadline passed");
                continue;
            }
            Grant(head, worker, now, leases);
        }
    }

    private void Grant(TaskRecord task, WorkerRecord worker, DateTimeOffset now, List<TaskLease> leases)
    {
        task.Attempts++;
        task.LeaseId = NewId();
        task.LeasedBy = worker.Id;
        task.LeasedAt = now;
        task.LeaseExpiresAt = now + _options.LeaseDuration;
        task.UpdatedAt = now;
        task.NotBefore = null;
        SetState(task, TaskState.Leased);
        worker.Leases.Add(task.Id);
        _telemetry.Dispatched(now - task.ReadyAt);
        Persist(task);
        leases.Add(new TaskLease
        {
            TaskId = task.Id,
            LeaseId = task.LeaseId,
            ExpiresAt = task.LeaseExpiresAt.Value,
            Attempt = task.Attempts,
            Kind = task.Kind,
            Messages = task.Messages,
            Model = task.Model,
            Temperature = task.Temperature,
            MaxTokens = task.MaxTokens,
            JsonMode = task.JsonMode,
            Deadline = task.Deadline,
            TraceParent = task.TraceParent,
            TraceState = task.TraceState,
        });
    }

    /// <summary>A queued task may be leased now: hand it straight to a waiting long-poll, or put it in its queue.</summary>
    private void MakeReady(TaskRecord task, DateTimeOffset now)
    {
        if (task.Deadline <= now)
        {
            Finish(task, TaskState.Failed, now, "deadline passed");
            return;
        }
        task.NotBefore = null;
        task.ReadyAt = now;
        foreach (var waiter in _waiters)
        {
            if (waiter.Leases.Count < waiter.Max
                && CanLeaseNow(waiter.Worker, now)
                && waiter.Worker.CanServe(task.Kind, task.Provider, task.Model))
            {
                Grant(task, waiter.Worker, now, waiter.Leases);
                _woken.Add(waiter);
                return;
            }
        }
        task.Queue!.Ready.Add(task);
        task.InReadySet = true;
    }

    private void PromoteDue(DateTimeOffset now)
    {
        while (_delayed.Count > 0 && _delayed.Min!.NotBefore <= now)
        {
            var task = _delayed.Min;
            _delayed.Remove(task);
            task.Queue!.Delayed--;
            MakeReady(task, now);
        }
    }

    /// <summary>Takes a task off its queue (ready set or backoff schedule) if it is on one.</summary>
    private void Dequeue(TaskRecord task)
    {
        if (task.InReadySet)
        {
            task.Queue!.Ready.Remove(task);
            task.InReadySet = false;
        }
        else if (task.State == TaskState.Queued && task.NotBefore is not null && _delayed.Remove(task))
        {
            task.Queue!.Delayed--;
        }
    }

    private void ReleaseLease(TaskRecord task)
    {
        if (task.State == TaskState.Leased && task.LeasedBy is { } wid && _workers.TryGetValue(wid, out var worker))
        {
            var wasFull = worker.Leases.Count >= worker.MaxConcurrency;
            worker.Leases.Remove(task.Id);
            if (wasFull)
            {
                WakeWaitersOf(worker);
            }
        }
        task.LeaseId = null;
        task.LeaseExpiresAt = null;
    }

    private void Requeue(TaskRecord task, DateTimeOffset now, TimeSpan delay)
    {
        ReleaseLease(task);
        task.LeasedBy = null;
        task.LeasedAt = null;
        SetState(task, TaskState.Queued);
        task.UpdatedAt = now;
        if (delay > TimeSpan.Zero)
        {
            task.NotBefore = now + delay;
            _delayed.Add(task);
            task.Queue!.Delayed++;
            Persist(task);
        }
        else
        {
            Persist(task);
            MakeReady(task, now);
        }
    }

    private void RetryOrFail(TaskRecord task, DateTimeOffset now, string message)
    {
        if (task.Attempts >= task.MaxAttempts)
        {
            Finish(task, TaskState.Failed, now, $"failed after {task.Attempts} attempts: {message}");
        }
        else
        {
            Requeue(task, now, Backoff.Delay(task.Attempts, _random));
        }
    }

    private void Finish(TaskRecord task, TaskState state, DateTimeOffset now, string? reason)
    {
        TimeSpan? runTime = task.State == TaskState.Leased && task.LeasedAt is { } at ? now - at : null;
        if (task.State == TaskState.Queued)
        {
            Dequeue(task);
        }
        if (task.State == TaskState.Leased)
        {
            task.FinalLeaseId = task.LeaseId;
        }
        ReleaseLease(task);
        task.NotBefore = null;
        SetState(task, state);
        task.UpdatedAt = now;
        task.Reason = reason;
        _telemetry.Finished(state, runTime, task.Attempts);
        Persist(task);
        if (_terminalWaiters.TryGetValue(task.Id, out var waiters))
        {
            _terminalWoken.AddRange(waiters);
        }
    }

    private void WakeWaitersOf(WorkerRecord worker)
    {
        foreach (var waiter in _waiters)
        {
            if (waiter.Worker == worker) _woken.Add(waiter);
        }
    }

    private void AddState(TaskRecord task)
    {
        _byState[(int)task.State].Add(task);
        _stateCounts[(int)task.State]++;
    }

    private void SetState(TaskRecord task, TaskState state)
    {
        if (task.State == state) return;
        _byState[(int)task.State].Remove(task);
        _stateCounts[(int)task.State]--;
        task.State = state;
        AddState(task);
    }

    private RoutingQueue QueueFor(string kind, string? provider, string? model)
    {
        var key = RoutingQueue.KeyOf(kind, provider, model);
        if (!_queues.TryGetValue(key, out var queue))
        {
            queue = new RoutingQueue(kind, provider, model);
            queue.Unroutable = !CanAnyWorkerServe(queue);
            _queues.Add(key, queue);
        }
        return queue;
    }

    private bool CanAnyWorkerServe(RoutingQueue q)
    {
        foreach (var w in _workers.Values)
        {
            if (w.State != WorkerState.Gone && w.CanServe(q.Kind, q.Provider, q.Model)) return true;
        }
        return false;
    }

    private void RecomputeRoutability()
    {
        foreach (var q in _queues.Values)
        {
            q.Unroutable = !CanAnyWorkerServe(q);
        }
    }

    private void Persist(TaskRecord task) =>
        _writes.Add(new StoreWrite(StoreTable.Tasks, task.Id, task.Seq, TelemetryName(task.State),
            JsonSerializer.Serialize(task, StoreJsonContext.Default.TaskRecord)));

    private void PersistWorker(WorkerRecord worker) =>
        _writes.Add(new StoreWrite(StoreTable.Workers, worker.Id, 0, OrchestratorTelemetry.StateName(worker.State),
            JsonSerializer.Serialize(worker, StoreJsonContext.Default.WorkerRecord)));

    /// <summary>Hands this region's writes to the group committer and wakes whoever waits on them.</summary>
    private Task Flush()
    {
        var commit = _writes.Count == 0 ? Task.CompletedTask : _store.Save(_writes.ToArray());
        _writes.Clear();
        foreach (var waiter in _woken)
        {
            waiter.Commit = commit;
            waiter.Woken.TrySetResult();
        }
        _woken.Clear();
        foreach (var signal in _terminalWoken)
        {
            signal.TrySetResult(commit);
        }
        _terminalWoken.Clear();
        return commit;
    }

    private static long TokensOf(TokenUsage? usage) =>
        usage is null ? 0 : usage.TotalTokens ?? ((long)(usage.PromptTokens ?? 0) + (usage.CompletionTokens ?? 0));

    private static string TelemetryName(TaskState state) => OrchestratorTelemetry.StateName(state);

    private TaskView ToView(TaskRecord t)
    {
        var unroutable = t.State == TaskState.Queued && t.Queue is { Unroutable: true };
        return new TaskView
        {
            Id = t.Id,
            State = t.State,
            Kind = t.Kind,
            Messages = t.Messages,
            Model = t.Model,
            Provider = t.Provider,
            Temperature = t.Temperature,
            MaxTokens = t.MaxTokens,
            JsonMode = t.JsonMode,
            Priority = t.Priority,
            Deadline = t.Deadline,
            IdempotencyKey = t.IdempotencyKey,
            Labels = t.Labels,
            CreatedAt = t.CreatedAt,
            UpdatedAt = t.UpdatedAt,
            NotBefore = t.NotBefore,
            Attempts = t.Attempts,
            MaxAttempts = t.MaxAttempts,
            LeasedBy = t.LeasedBy,
            LeaseExpiresAt = t.LeaseExpiresAt,
            Result = t.Result,
            Errors = t.Errors.ToArray(),
            Unroutable = unroutable,
            Reason = unroutable ? t.Queue!.Describe() : t.Reason,
        };
    }

    private static WorkerView ToView(WorkerRecord w) => new()
    {
        Id = w.Id,
        Name = w.Name,
        Provider = w.Provider,
        Models = w.Models,
        TaskKinds = w.TaskKinds,
        State = w.State,
        Healthy = w.Healthy,
        Status = w.Status,
        MaxConcurrency = w.MaxConcurrency,
        InFlight = w.InFlight,
        TokensPerSecond = w.TokensPerSecond,
        RegisteredAt = w.RegisteredAt,
        LastHeartbeat = w.LastHeartbeat,
        CooldownUntil = w.CooldownUntil,
        TasksSucceeded = w.TasksSucceeded,
        TasksFailed = w.TasksFailed,
        Host = w.Host,
        Version = w.Version,
    };

    /// <summary>
    /// Rebuilds memory from the store. Leases survive a restart; each gets at least one lease duration from now,
    /// because the holder's heartbeats failed while we were down through no fault of its own.
    /// </summary>
    private void Load(StoreSnapshot snapshot)
    {
        var now = Now;
        foreach (var json in snapshot.Workers)
        {
            var worker = JsonSerializer.Deserialize(json, StoreJsonContext.Default.WorkerRecord)!;
            if (worker.State != WorkerState.Gone && worker.LastHeartbeat < now)
            {
                worker.LastHeartbeat = now;
            }
            // Recounted from the task rows below, which are the durable record of who ran what.
            worker.TasksSucceeded = 0;
            worker.TasksFailed = 0;
            _workers[worker.Id] = worker;
        }
        foreach (var json in snapshot.Tasks)
        {
            var task = JsonSerializer.Deserialize(json, StoreJsonContext.Default.TaskRecord)!;
            _tasks[task.Id] = task;
            _bySeq.Add(task);
            _nextSeq = Math.Max(_nextSeq, task.Seq + 1);
            task.Created = Task.CompletedTask;
            if (task.IdempotencyKey is { } key)
            {
                _idempotency[key] = task.Id;
            }
            if (task.State == TaskState.Succeeded)
            {
                _tokensReported += TokensOf(task.Result?.Usage);
                if (task.Result?.WorkerId is { } ranBy && _workers.TryGetValue(ranBy, out var winner))
                {
                    winner.TasksSucceeded++;
                }
            }
            foreach (var error in task.Errors)
            {
                if (error.Kind is FailureKind.Transient or FailureKind.Permanent
                    && error.WorkerId is { } failedOn && _workers.TryGetValue(failedOn, out var loser))
                {
                    loser.TasksFailed++;
                }
            }
            AddState(task);
            task.Queue = QueueFor(task.Kind, task.Provider, task.Model);
        }
        foreach (var task in _bySeq)
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
                    task.Attempts--;
                    Requeue(task, now, TimeSpan.Zero);
                }
            }
            else if (task.State == TaskState.Queued)
            {
                if (task.NotBefore > now)
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
        }
        RecomputeRoutability();
        _ = Flush();
        LogLoaded(_tasks.Count, _stateCounts[(int)TaskState.Queued], _stateCounts[(int)TaskState.Leased], _workers.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Tasks} tasks ({Queued} queued, {Leased} leased) and {Workers} workers from the store")]
    private partial void LogLoaded(int tasks, long queued, long leased, int workers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) registered: provider {Provider}, models {Models}")]
    private partial void LogRegistered(string workerId, string name, string provider, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {WorkerId} ({Name}) deregistered; its leases went back to the queue")]
    private partial void LogDeregistered(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {WorkerId} ({Name}) is offline: no heartbeat")]
    private partial void LogOffline(string workerId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease of task {TaskId} held by worker {WorkerId} expired (attempt {Attempt})")]
    private partial void LogLeaseExpired(string taskId, string workerId, int attempt);
}
