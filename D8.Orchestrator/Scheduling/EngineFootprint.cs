namespace D8.Orchestrator.Scheduling;

/// <summary>Counts of what the engine holds in memory (see <see cref="SchedulingEngine.Footprint"/>).</summary>
/// <param name="Tasks">Live tasks, plus finished ones until their final row is durable.</param>
/// <param name="RoutingQueues">One per (kind, provider, model) with live tasks.</param>
/// <param name="IdempotencyKeys">Keys inside the idempotency window (or of live tasks).</param>
/// <param name="Workers">Workers in the fleet view.</param>
internal readonly record struct EngineFootprint(int Tasks, int RoutingQueues, int IdempotencyKeys, int Workers);
