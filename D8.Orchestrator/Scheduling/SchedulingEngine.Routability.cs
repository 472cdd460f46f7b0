using System.Globalization;
using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

public sealed partial class SchedulingEngine
{
    /// <summary>
    /// Why tasks of this requirement (kind, provider, model) would wait for a worker — the reason a queued task's view
    /// gives when it is unroutable — or null when a registered (not gone) worker can serve them. Prompt evolution
    /// shows it on a run whose tasks nobody can take.
    /// </summary>
    public string? UnroutableReason(string kind, string? provider, string? model)
    {
        lock (_gate)
        {
            if (_queues.TryGetValue(RoutingQueue.KeyOf(kind, provider, model), out var queue))
            {
                return queue.Unroutable ? queue.Describe() : null;
            }
            var probe = new RoutingQueue(kind, provider, model);
            return CanAnyWorkerServe(probe) ? null : probe.Describe();
        }
    }

    /// <summary>
    /// Why a queued task waits, or null when it is not queued (or unknown): no worker serves it, its workers are
    /// unhealthy (with their status), offline, draining, cooling down, out of budget or busy, or it waits out a retry
    /// backoff; null as well when a worker with a free slot serves it (it only waits its turn). The OpenAI door says
    /// it in its 429; a queued task's view carries it as <c>reason</c>.
    /// </summary>
    public string? WaitReason(string taskId)
    {
        lock (_gate)
        {
            return _tasks.TryGet(taskId, out var task) ? WaitReasonOf(task) : null;
        }
    }

    /// <summary>How many of <paramref name="taskIds"/> are in memory and queued (one lock for all of them).</summary>
    public int CountQueued(IEnumerable<string> taskIds)
    {
        lock (_gate)
        {
            return taskIds.Count(id => _tasks.TryGet(id, out var task) && task.State == TaskState.Queued);
        }
    }

    /// <summary>
    /// A task's view with its wait reason when queued (under the lock). A page of tasks passes one
    /// <paramref name="perQueue"/> so the workers are looked at once per routing queue, not once per task.
    /// </summary>
    private TaskView ViewWithReason(TaskRecord task, Dictionary<RoutingQueue, string?>? perQueue = null) =>
        TaskViews.Of(task, WaitReasonOf(task, perQueue));

    private string? WaitReasonOf(TaskRecord task, Dictionary<RoutingQueue, string?>? perQueue = null)
    {
        if (task.State != TaskState.Queued)
        {
            return null;
        }
        var now = Now;
        if (task.NotBefore is { } notBefore && notBefore > now)
        {
            return $"retrying after a failed attempt, not before {Instant(notBefore)}";
        }
        if (task.Queue is not { } queue || perQueue is null)
        {
            return QueueWaitReason(task.Queue ?? new RoutingQueue(task.Kind, task.Provider, task.Model), now);
        }
        if (!perQueue.TryGetValue(queue, out var reason))
        {
            perQueue[queue] = reason = QueueWaitReason(queue, now);
        }
        return reason;
    }

    /// <summary>Why a ready task of <paramref name="probe"/> waits: the same for every task of that queue.</summary>
    private string? QueueWaitReason(RoutingQueue probe, DateTimeOffset now)
    {
        if (probe.Unroutable || !CanAnyWorkerServe(probe))
        {
            return probe.Describe();
        }
        var unhealthy = new List<string>();
        var offline = new List<string>();
        var draining = new List<string>();
        var cooling = new List<string>();
        var budget = new List<string>();
        var busy = new List<string>();
        foreach (var w in _workers.Values)
        {
            if (w.State == WorkerState.Gone || !w.CanServe(probe.Kind, probe.Provider, probe.Model))
            {
                continue;
            }
            if (w.State == WorkerState.Offline) offline.Add(w.Name);
            else if (w.State == WorkerState.Draining || w.Drain) draining.Add(w.Name);
            else if (!w.Healthy) unhealthy.Add($"{w.Name}: {w.Status ?? "no status"}");
            else if (w.CooldownUntil is { } c && c > now) cooling.Add($"{w.Name} until {Instant(c)}");
            else if (w.BudgetReadyAt is { } b && b > now) budget.Add($"{w.Name} until {Instant(b)}");
            else if (w.Leases.Count >= w.MaxConcurrency) busy.Add($"{w.Name} {w.Leases.Count}/{w.MaxConcurrency}");
            else return null; // a worker with a free slot can take it: nothing holds it but its turn
        }
        var parts = new List<string>();
        void Say(string what, List<string> names)
        {
            if (names.Count > 0) parts.Add($"{what} ({string.Join("; ", names.Take(5))}{(names.Count > 5 ? $"; +{names.Count - 5} more" : "")})");
        }
        Say("busy", busy);
        Say("cooling down after a rate limit", cooling);
        Say("out of budget", budget);
        Say("unhealthy", unhealthy);
        Say("offline", offline);
        Say("draining", draining);
        return "waiting for a worker: its workers are " + string.Join(", ", parts);
    }

    private static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
