namespace D8.Contracts;

/// <summary>Task kinds: "chat" and the four kinds prompt evolution submits. Workers run them all as chat completions.</summary>
public static class EvolutionTaskKinds
{
    public const string Chat = "chat";
    public const string Mutate = "evolve.mutate";
    public const string Crossover = "evolve.crossover";
    public const string Evaluate = "evolve.evaluate";
    public const string Judge = "evolve.judge";

    /// <summary>Every kind a chat provider can serve: a worker's default <c>D8_TASK_KINDS</c>.</summary>
    public static readonly IReadOnlyList<string> All = [Chat, Mutate, Crossover, Evaluate, Judge];
}
