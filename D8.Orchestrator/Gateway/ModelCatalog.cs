using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Orchestrator.Gateway;

/// <summary>
/// The models the fleet serves, as <c>/v1/models</c> lists them: every model a registered (not gone) worker advertises,
/// by its exact id and as <c>provider/model</c>; <c>owned_by</c> is the provider.
/// </summary>
public sealed class ModelCatalog(SchedulingEngine engine)
{
    /// <summary>Every model id the fleet answers to, exact ids first, then the provider-pinned ones; sorted.</summary>
    public IReadOnlyList<ModelObject> List()
    {
        var exact = new SortedDictionary<string, ModelObject>(StringComparer.Ordinal);
        var pinned = new SortedDictionary<string, ModelObject>(StringComparer.Ordinal);
        foreach (var w in engine.Workers())
        {
            if (w.State == WorkerState.Gone || !w.TaskKinds.Contains(EvolutionTaskKinds.Chat, StringComparer.Ordinal))
            {
                continue;
            }
            var created = w.RegisteredAt.ToUnixTimeSeconds();
            foreach (var model in w.Models)
            {
                Keep(exact, model, created, w.Provider);
                Keep(pinned, $"{w.Provider}/{model}", created, w.Provider);
            }
        }
        return [.. exact.Values, .. pinned.Values];
    }

    /// <summary>The exact model ids served (no provider prefix), for messages naming what exists.</summary>
    public IReadOnlyList<string> ExactIds() =>
        List().Where(m => !m.Id.StartsWith(m.OwnedBy + "/", StringComparison.Ordinal)).Select(m => m.Id).ToList();

    /// <summary>One model by id (exact or <c>provider/model</c>), or null when no registered worker serves it.</summary>
    public ModelObject? Find(string id) => List().FirstOrDefault(m => m.Id == id);

    /// <summary>True when a registered worker could run a chat task for this requirement (it may be busy).</summary>
    public bool Serves(string? provider, string? model) => engine.UnroutableReason(EvolutionTaskKinds.Chat, provider, model) is null;

    private static void Keep(SortedDictionary<string, ModelObject> into, string id, long created, string provider)
    {
        if (!into.TryGetValue(id, out var known) || created < known.Created)
        {
            into[id] = new ModelObject(id, created, provider);
        }
    }
}
