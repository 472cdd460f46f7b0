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
}
