using System.Globalization;
using D8.Contracts;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Why a queued task waits, in words for its view and the OpenAI door's 429: no worker serves its requirement, its
/// workers are unhealthy, offline, draining, cooling down, out of budget or busy, or it waits out a retry backoff.
/// Runs under the engine's lock.
/// </summary>
internal sealed class WaitReasons(EngineState s)
{
    /// <summary>Why tasks of this requirement would wait for a worker, or null when a registered (not gone) worker serves it.</summary>
    public string? Unroutable(string kind, string? provider, string? model)
    {
        if (s.Queues.Find(kind, provider, model) is { } queue)
        {
            return queue.Unroutable ? queue.Describe() : null;
        }
        return s.Workers.CanAnyServe(kind, provider, model) ? null : new RoutingQueue(kind, provider, model).Describe();
    }

    /// <summary>
    /// Why a queued task waits, or null when it is not queued or only waits its turn. A page of tasks passes one
    /// <paramref name="perQueue"/> so the workers are looked at once per routing queue, not once per task.
    /// </summary>
    public string? Of(TaskRecord task, Dictionary<RoutingQueue, string?>? perQueue = null)
    {
        if (task.State != TaskState.Queued)
        {
            return null;
        }
        var now = s.Now;
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
        if (probe.Unroutable || !s.Workers.CanAnyServe(probe.Kind, probe.Provider, probe.Model))
        {
            return probe.Describe();
        }
        var unhealthy = new List<string>();
        var offline = new List<string>();
        var draining = new List<string>();
        var cooling = new List<string>();
        var budget = new List<string>();
        var busy = new List<string>();
        foreach (var w in s.Workers.All)
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
