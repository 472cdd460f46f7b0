namespace D8.Orchestrator.Scheduling.Placement;

/// <summary>
/// A worker as placement sees it for one task size: how many tokens a second it can turn out over all its slots
/// (capped by its reported request and token budgets), the work it still has (tokens left of its running leases, plus
/// its rate times any cooldown or budget wait), and how many tokens its daily request budget still allows (null: no cap).
/// </summary>
public sealed record PoolMember(double TokensPerSecond, double BusyTokens, double? TokenCap = null);
