using System.Globalization;
using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// A run's tasks as the engine sees them: the idempotency key of each (run, genome, purpose, case) — persisted with
/// the task ids, so a restarted orchestrator re-attaches instead of running a task again: never change these strings —
/// and the <see cref="SubmitTaskRequest"/> for it (target from the spec, prompt from <see cref="OperatorPrompts"/>,
/// labels naming the run, genome and generation).
/// </summary>
internal sealed class RunRequests(string runId, EvolutionSettings settings)
{
    public string OperatorKey(Genome g) => $"evo:{runId}:{g.Id}:op" + (g.OperatorAttempts > 0 ? $":r{g.OperatorAttempts}" : "");
    public string EvaluateKey(Genome g, int c) => $"evo:{runId}:{g.Id}:eval:{c}";
    public string JudgeKey(Genome g, int c) => $"evo:{runId}:{g.Id}:judge:{c}";
    public string ValidateKey(Genome g, int c) => $"evo:{runId}:{g.Id}:val:{c}";
    public string ValidateJudgeKey(Genome g, int c) => $"evo:{runId}:{g.Id}:valjudge:{c}";

    /// <summary>A mutation of <paramref name="parent"/>; a reflect operator is shown the parent's weakest cases (recorded on the child).</summary>
    public SubmitTaskRequest Mutation(Genome genome, string op, Genome parent)
    {
        if (op != MutationOperatorNames.Reflect)
        {
            return Operator(genome, EvolutionTaskKinds.Mutate, OperatorPrompts.Mutation(op, parent.Prompt!, genome.Id));
        }
        var (feedback, shown) = Reflection.Feedback(parent, Reflection.Weakest(parent, settings), settings);
        genome.Reflected = [.. shown];
        var passing = parent.Scores.Count(x => x >= 1);
        return Operator(genome, EvolutionTaskKinds.Mutate,
            OperatorPrompts.Reflect(parent.Prompt!, feedback, passing, parent.Scores.Length, genome.Id));
    }

    public SubmitTaskRequest Operator(Genome genome, string kind, IReadOnlyList<ChatMessage> messages) =>
        Request(settings.Operators, kind, messages, json: true, genome, OperatorKey(genome));

    public SubmitTaskRequest Evaluate(Genome genome, int c) =>
        Request(settings.Evaluation, EvolutionTaskKinds.Evaluate, OperatorPrompts.Evaluation(genome.Prompt!, settings.Cases[c]),
            settings.Cases[c].JsonMode ?? false, genome, EvaluateKey(genome, c));

    public SubmitTaskRequest Judge(Genome genome, int c, string answer) =>
        Request(settings.Judge, EvolutionTaskKinds.Judge,
            OperatorPrompts.Judge(settings.Cases[c].Checker!, OperatorPrompts.QuestionOf(settings.Cases[c]), answer),
            json: true, genome, JudgeKey(genome, c));

    /// <summary>A held-out case's evaluation.</summary>
    public SubmitTaskRequest Validate(Genome genome, int c) =>
        Request(settings.Evaluation, EvolutionTaskKinds.Evaluate,
            OperatorPrompts.Evaluation(genome.Prompt!, settings.ValidationCases[c]), settings.ValidationCases[c].JsonMode ?? false,
            genome, ValidateKey(genome, c));

    /// <summary>A held-out case's judge.</summary>
    public SubmitTaskRequest ValidateJudge(Genome genome, int c, string answer) =>
        Request(settings.Judge, EvolutionTaskKinds.Judge,
            OperatorPrompts.Judge(settings.ValidationCases[c].Checker!, OperatorPrompts.QuestionOf(settings.ValidationCases[c]), answer),
            json: true, genome, ValidateJudgeKey(genome, c));

    private SubmitTaskRequest Request(EvolutionTarget target, string kind, IReadOnlyList<ChatMessage> messages, bool json, Genome genome, string key) => new()
    {
        Messages = messages,
        Kind = kind,
        Provider = target.Provider?.ToLowerInvariant(),
        Model = target.Model,
        Temperature = target.Temperature,
        MaxTokens = target.MaxTokens,
        JsonMode = json,
        IdempotencyKey = key,
        Labels = new Dictionary<string, string>
        {
            ["evolution"] = runId,
            ["genome"] = genome.Id,
            ["generation"] = genome.Generation.ToString(CultureInfo.InvariantCulture),
        },
    };
}
