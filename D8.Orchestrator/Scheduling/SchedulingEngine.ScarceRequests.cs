using D8.Contracts;
using D8.Orchestrator.Scheduling.Placement;

namespace D8.Orchestrator.Scheduling;

/// <summary>
/// Scarce requests and token budgets in placement: a worker whose requests are scarcer than its speed (a free tier of a
/// few requests a minute or a day) gets the longest ready tasks, the others leave those to it while other work is
/// left, and a lease poll that carries a token budget gets the longest task that fits it.
/// </summary>
public sealed partial class SchedulingEngine
{
    /// <summary>
    /// True when the worker's request budget (per minute or per day), not its speed or token budget, limits what it
    /// gets done: a free tier of a few requests a minute. Such a worker is given the longest ready tasks.
    /// </summary>
    private bool RequestBound(WorkerRecord worker, TaskRecord task)
    {
        if (worker.Budget.Count == 0)
        {
            return false;
        }
        var tokens = WorkEstimate.OutputTokens(task);
        var speedRate = EstimateSeconds(worker, task) is { } seconds ? worker.MaxConcurrency * tokens / seconds : double.MaxValue;
        var tokenRate = double.MaxValue;
        var requestRate = double.MaxValue;
        foreach (var w in worker.Budget)
        {
            if (w.Limit <= 0 || w.Seconds <= 0) continue;
            if (w.Window == BudgetWindow.TokensPerMinute) tokenRate = w.Limit / w.Seconds;
            else if (w.Window == BudgetWindow.RequestsPerMinute) requestRate = Math.Min(requestRate, w.Limit / w.Seconds * tokens);
            else if (w.Window == BudgetWindow.RequestsPerDay && w.Limit < 1000) return true; // a few requests a day: make each count
        }
        return requestRate < Math.Min(speedRate, tokenRate);
    }

    private static bool Fits(TaskRecord task, int? tokenBudget) => tokenBudget is not { } b || WorkEstimate.TotalTokens(task) <= b;

    /// <summary>
    /// The longest ready tasks of the head's priority, as many as the other request-bound workers that could run them
    /// have requests left today (at most 64); null when there are none.
    /// </summary>
    private HashSet<TaskRecord>? Reserved(WorkerRecord worker, List<RoutingQueue> eligible, TaskRecord head)
    {
        var requests = 0L;
        foreach (var w in _budgeted)
        {
            if (w == worker || w.State != WorkerState.Online || !w.Healthy || w.Drain
                || !w.CanServe(head.Kind, head.Provider, head.Model) || !RequestBound(w, head)) continue;
            foreach (var b in w.Budget)
            {
                if (b.Window == BudgetWindow.RequestsPerDay) requests += Math.Max(0, b.Limit - b.Used);
            }
        }
        if (requests == 0)
        {
            return null;
        }
        var top = new PriorityQueue<TaskRecord, int>();
        foreach (var q in eligible)
        {
            var seen = 0;
            foreach (var t in q.Ready)
            {
                if (t.Priority != head.Priority || ++seen > 8 * ShorterTaskScan) break;
                top.Enqueue(t, WorkEstimate.OutputTokens(t));
                if (top.Count > Math.Min(requests, 64)) top.Dequeue();
            }
        }
        return top.UnorderedItems.Select(i => i.Element).ToHashSet();
    }

    /// <summary>The first ready task in priority order (head's priority) that is not reserved; null if all are.</summary>
    private static TaskRecord? FirstNotReserved(List<RoutingQueue> eligible, TaskRecord head, HashSet<TaskRecord> reserved)
    {
        TaskRecord? first = null;
        foreach (var q in eligible)
        {
            var seen = 0;
            foreach (var t in q.Ready)
            {
                if (t.Priority != head.Priority || ++seen > 8 * ShorterTaskScan) break;
                if (reserved.Contains(t)) continue;
                if (first is null || PriorityOrder.Instance.Compare(t, first) < 0) first = t;
                break;
            }
        }
        return first;
    }

    /// <summary>The longest ready task of the head's priority that fits the token budget and is not reserved (among the first few hundred of each queue).</summary>
    private static TaskRecord? Longest(List<RoutingQueue> eligible, TaskRecord head, int? tokenBudget, HashSet<TaskRecord>? reserved)
    {
        TaskRecord? longest = null;
        foreach (var q in eligible)
        {
            var seen = 0;
            foreach (var t in q.Ready)
            {
                if (t.Priority != head.Priority || ++seen > 8 * ShorterTaskScan) break;
                if (Fits(t, tokenBudget) && reserved?.Contains(t) != true && (longest is null || WorkEstimate.OutputTokens(t) > WorkEstimate.OutputTokens(longest))) longest = t;
            }
        }
        return longest;
    }
}
