namespace D8.Orchestrator.Storage;

/// <summary>Which table a write goes to.</summary>
public enum StoreTable
{
    Tasks,
    Workers,
}

/// <summary>One row upsert: the full JSON snapshot of a task or worker at the moment it changed.</summary>
/// <param name="Seq">Tasks: submission order (paging and restart order). Workers: 0.</param>
/// <param name="State">Indexed so a future store can load only live rows.</param>
public readonly record struct StoreWrite(StoreTable Table, string Id, long Seq, string State, string Json);

/// <summary>Everything the store holds, as written.</summary>
public sealed record StoreSnapshot(IReadOnlyList<string> Tasks, IReadOnlyList<string> Workers);
