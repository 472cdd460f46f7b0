using D8.Contracts;
using D8.Orchestrator.Telemetry;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Who holds which task: granting, renewing (heartbeats), releasing and expiring leases, the leases a worker lost
/// (told once in its next heartbeat), and speculative copies — a second lease on a running task, held by a faster
/// worker, at most one per task (<see cref="TaskRecord.SpecLeaseId"/>; the first report wins). A worker's slots are
/// the tasks in <see cref="WorkerRecord.Leases"/>; freeing a full worker's slot wakes its parked polls. The task's
/// state itself changes in <see cref="TaskLifecycle"/>. Runs under the engine's lock.
/// </summary>
internal sealed class LeaseBook(EngineState s)
{
    /// <summary>Consecutive heartbeats that must leave a lease out (and heartbeat intervals since it was granted) before it is taken back.</summary>
    public const int OrphanBeats = 3;

    /// <summary>A worker holds at most this share of its slots as speculative copies (at least one).</summary>
    public const int CopySlotsDivisor = 4;

    /// <summary>Speculative copies granted, and those that finished first.</summary>
    public long Copies { get; private set; }
    public long CopiesWon { get; private set; }

    /// <summary>True while the worker may be granted a lease now (online, healthy, not draining, cooling down or out of budget, a free slot).</summary>
    public static bool CanLease(WorkerRecord worker, DateTimeOffset now) =>
        worker.State == WorkerState.Online
        && worker.Healthy
        && !worker.Drain
        && (worker.CooldownUntil is not { } until || until <= now)
        && (worker.BudgetReadyAt is not { } budget || budget <= now)
        && worker.Leases.Count < worker.MaxConcurrency;

    /// <summary>Records a new lease of <paramref name="task"/> for <paramref name="worker"/> (the attempt counts) and returns it.</summary>
    public TaskLease Grant(TaskRecord task, WorkerRecord worker, DateTimeOffset now)
    {
        task.Attempts++;
        task.LeaseId = WorkerTokens.NewId();
        task.LeasedBy = worker.Id;
        task.LeasedAt = now;
        task.UnlistedBeats = 0;
        task.LeaseExpiresAt = now + s.Options.LeaseDuration;
        task.UpdatedAt = now;
        task.NotBefore = null;
        task.Reason = null;
        worker.Leases.Add(task.Id);
        s.Telemetry.Dispatched(now - task.ReadyAt);
        s.Changes.Task(task);
        return TaskViews.LeaseOf(task);
    }

    /// <summary>
    /// Ends the task's lease (its run finished, failed or was taken back), freeing its holder's slot; a full holder's
    /// parked polls are woken — the poll its slot sent while this report was in flight (docs/worker-protocol.md,
    /// "Parked polls and in-flight reports").
    /// </summary>
    public void Release(TaskRecord task)
    {
        if (task.State == TaskState.Leased && task.LeasedBy is { } wid && s.Workers.TryGet(wid, out var worker))
        {
            var wasFull = worker.Leases.Count >= worker.MaxConcurrency;
            worker.Leases.Remove(task.Id);
            if (wasFull) WakeParkedOf(worker);
        }
        task.LeaseId = null;
        task.LeaseExpiresAt = null;
    }

    /// <summary>Frees a worker's slot, waking its parked long-polls if it was full.</summary>
    private void FreeSlot(WorkerRecord worker, string taskId)
    {
        var wasFull = worker.Leases.Count >= worker.MaxConcurrency;
        if (worker.Leases.Remove(taskId) && wasFull)
        {
            WakeParkedOf(worker);
        }
    }

    /// <summary>Wakes the worker's parked polls so they look again (a slot freed, it became healthy, its budget is back).</summary>
    public void WakeParkedOf(WorkerRecord worker)
    {
        foreach (var waiter in worker.Parked) s.Changes.Wake(waiter);
    }

    /// <summary>
    /// A heartbeat renews every lease the worker holds until <paramref name="expires"/> and returns the lease ids it
    /// holds; leases its worker stopped listing are returned as <paramref name="orphans"/> for the caller to take back.
    /// </summary>
    public HashSet<string> Renew(WorkerRecord worker, IReadOnlyList<string>? listedIds, DateTimeOffset now, DateTimeOffset expires,
        out List<TaskRecord>? orphans)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        var listed = listedIds is { } ids ? new HashSet<string>(ids, StringComparer.Ordinal) : null;
        orphans = null;
        foreach (var taskId in worker.Leases)
        {
            s.Tasks.TryGet(taskId, out var task);
            if (task.SpecLeasedBy == worker.Id)
            {
                task.SpecLeaseExpiresAt = expires;
                held.Add(task.SpecLeaseId!);
                continue;
            }
            if (task.SpecLeaseId is null && IsOrphan(task, listed, now))
            {
                (orphans ??= []).Add(task);
                continue;
            }
            task.LeaseExpiresAt = expires;
            held.Add(task.LeaseId!);
            s.Changes.Task(task);
        }
        return held;
    }

    /// <summary>
    /// A lease its holder no longer has: the worker lists the leases it holds in every heartbeat, and this one was left
    /// out of <see cref="OrphanBeats"/> heartbeats in a row, the first of them at least that many heartbeat intervals after
    /// it was granted (so a lease whose answer is still on its way to the worker is never mistaken for one). It happens
    /// when the lease answer never reached the worker (the orchestrator was killed after storing it) or the worker gave up
    /// reporting its result; without this, heartbeats would extend such a lease for ever and its task would never end.
    /// A worker that does not list its leases (null) keeps them all.
    /// </summary>
    private bool IsOrphan(TaskRecord task, HashSet<string>? listed, DateTimeOffset now)
    {
        if (listed is null || listed.Contains(task.LeaseId!))
        {
            task.UnlistedBeats = 0;
            return false;
        }
        if (task.LeasedAt is { } at && now - at < s.Options.HeartbeatInterval * OrphanBeats) return false;
        return ++task.UnlistedBeats >= OrphanBeats;
    }

    /// <summary>Running tasks whose lease expired (no heartbeat from their worker); null if none.</summary>
    public List<TaskRecord>? Expired(DateTimeOffset now)
    {
        List<TaskRecord>? expired = null;
        foreach (var task in s.Tasks.InState(TaskState.Leased))
        {
            if (task.LeaseExpiresAt <= now) (expired ??= []).Add(task);
        }
        return expired;
    }

    /// <summary>The worker hears in its next heartbeat that it lost this lease.</summary>
    public static void Lost(WorkerRecord? worker, string leaseId) => worker?.LostLeases.Add(leaseId);

    /// <summary>Refuses a report or relay piece on a lease that is not the task's current one, or is another worker's.</summary>
    public static void RequireCurrent(TaskRecord task, string workerId, string leaseId)
    {
        if (task.State != TaskState.Leased || !string.Equals(task.LeaseId, leaseId, StringComparison.Ordinal))
        {
            throw EngineException.Conflict(
                $"Lease '{leaseId}' is not the current lease of task '{task.Id}' (it expired, was taken back, or the task " +
                $"is {WireNames.Of(task.State)}); the report is refused so the task keeps exactly one result.");
        }
        if (!string.Equals(task.LeasedBy, workerId, StringComparison.Ordinal))
        {
            throw EngineException.Forbidden($"Lease '{leaseId}' belongs to another worker.");
        }
    }

    // ------------------------------------------------------------------ speculative copies

    /// <summary>True while <paramref name="worker"/> may take one more speculative copy: at most a quarter of its slots (at least one).</summary>
    public bool MayTakeCopy(WorkerRecord worker)
    {
        var held = 0;
        foreach (var id in worker.Leases)
        {
            if (s.Tasks.TryGet(id, out var task) && task.SpecLeasedBy == worker.Id) held++;
        }
        return held < Math.Max(1, worker.MaxConcurrency / CopySlotsDivisor);
    }

    /// <summary>Grants <paramref name="worker"/> a copy of a running task (no attempt counts) and returns its lease.</summary>
    public TaskLease GrantCopy(TaskRecord task, WorkerRecord worker, DateTimeOffset now)
    {
        task.SpecLeaseId = WorkerTokens.NewId();
        task.SpecLeasedBy = worker.Id;
        task.SpecLeasedAt = now;
        task.SpecLeaseExpiresAt = now + s.Options.LeaseDuration;
        worker.Leases.Add(task.Id);
        Copies++;
        return TaskViews.LeaseOf(task) with { LeaseId = task.SpecLeaseId, ExpiresAt = task.SpecLeaseExpiresAt };
    }

    public static bool IsCopy(TaskRecord task, string workerId, string leaseId) =>
        task.SpecLeaseId is { } spec && string.Equals(spec, leaseId, StringComparison.Ordinal)
        && string.Equals(task.SpecLeasedBy, workerId, StringComparison.Ordinal);

    /// <summary>
    /// The copy becomes the task's lease (it completed first, or the original's run ended). The original's worker
    /// loses its lease; with <paramref name="tellLoser"/> it hears so in its next heartbeat and stops. If the copy
    /// won, the original's run had not finished in the time it took: its speed is at most that.
    /// </summary>
    public void PromoteCopy(TaskRecord task, DateTimeOffset now, bool tellLoser, bool copyWon)
    {
        if (task.LeasedBy is { } loserId && s.Workers.TryGet(loserId, out var loser))
        {
            if (copyWon && task.LeasedAt is { } at)
            {
                s.Speeds.Bound(loser, task, now - at);
            }
            FreeSlot(loser, task.Id);
            if (tellLoser) Lost(loser, task.LeaseId!);
        }
        if (copyWon) CopiesWon++;
        task.LeaseId = task.SpecLeaseId;
        task.LeasedBy = task.SpecLeasedBy;
        task.LeasedAt = task.SpecLeasedAt;
        task.UnlistedBeats = 0;
        task.LeaseExpiresAt = task.SpecLeaseExpiresAt;
        ClearCopy(task);
        task.UpdatedAt = now;
        s.Changes.Task(task);
    }

    /// <summary>Ends the copy (the original won, the copy failed or expired, the task finished); with
    /// <paramref name="tellHolder"/> the copy's worker hears in its next heartbeat that the lease is gone.</summary>
    public void DropCopy(TaskRecord task, bool tellHolder)
    {
        if (task.SpecLeaseId is null)
        {
            return;
        }
        if (task.SpecLeasedBy is { } id && s.Workers.TryGet(id, out var holder))
        {
            FreeSlot(holder, task.Id);
            if (tellHolder) Lost(holder, task.SpecLeaseId);
        }
        ClearCopy(task);
    }

    private static void ClearCopy(TaskRecord task)
    {
        task.SpecLeaseId = null;
        task.SpecLeasedBy = null;
    }

    /// <summary>Copies whose lease expired (no heartbeat from their worker) end; the original runs on.</summary>
    public void ExpireCopies(DateTimeOffset now)
    {
        List<TaskRecord>? expired = null;
        foreach (var task in s.Tasks.InState(TaskState.Leased))
        {
            if (task.SpecLeaseId is not null && task.SpecLeaseExpiresAt <= now) (expired ??= []).Add(task);
        }
        foreach (var task in expired ?? [])
        {
            DropCopy(task, tellHolder: true);
        }
    }
}
