using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Held-out <c>validation_cases</c>: once a generation is fully scored, its best genome (the one its summary names) is
/// scored on the validation cases too, unless a genome with the same prompt already is. Nothing else sees these
/// scores: not selection, not reflection (no answers are kept), so the train/validation gap shows overfitting. Decides
/// what to ask and reads the replies; the run issues the tasks. Called under the run's lock.
/// </summary>
internal sealed class HeldOutValidation(EvolutionSettings settings, IReadOnlyList<Genome[]> generations, RunRequests requests)
{
    /// <summary>Every chosen genome has all its validation scores (true when the spec has no validation cases).</summary>
    public bool Complete => generations.All(g => g.All(x => x.ValidationScores?.All(v => v.HasValue) ?? true));

    /// <summary>Chooses generation <paramref name="g"/>'s best for validation (added to <paramref name="changed"/>).</summary>
    public void Choose(int g, List<Genome> changed)
    {
        if (settings.ValidationCases.Count == 0) return;
        var best = generations[g].OrderByDescending(x => x.Fitness(settings)).ThenBy(x => x.Slot).First();
        if (generations.SelectMany(x => x).Any(x => x.ValidationScores is not null && x.Prompt == best.Prompt)) return;
        best.ValidationScores = new double?[settings.ValidationCases.Count];
        changed.Add(best);
    }

    /// <summary>The validation evaluations not yet scored, nor under way (<paramref name="underWay"/> by task key).</summary>
    public IEnumerable<(Genome Genome, int Case, SubmitTaskRequest Request)> Due(Func<string, bool> underWay)
    {
        if (settings.ValidationCases.Count == 0) yield break;
        foreach (var genome in generations.SelectMany(x => x).Where(x => x.ValidationScores is not null))
        {
            for (var c = 0; c < genome.ValidationScores!.Length; c++)
            {
                if (genome.ValidationScores[c] is null && !underWay(requests.ValidateKey(genome, c)) && !underWay(requests.ValidateJudgeKey(genome, c)))
                {
                    yield return (genome, c, requests.Validate(genome, c));
                }
            }
        }
    }

    /// <summary>Scores a validation answer (0 when the task failed), or returns the judge task a judge checker needs.</summary>
    public SubmitTaskRequest? Answered(Genome genome, int c, string? answer)
    {
        var checker = settings.ValidationCases[c].Checker!;
        if (answer is null || Checkers.Score(checker, answer) is { } score)
        {
            genome.ValidationScores![c] = answer is null ? 0 : Checkers.Score(checker, answer);
            return null;
        }
        return requests.ValidateJudge(genome, c, answer);
    }

    /// <summary>Scores a validation case from its judge's reply (0 when the task failed or the reply had no score).</summary>
    public void Judged(Genome genome, int c, string? reply) =>
        genome.ValidationScores![c] = reply is not null && OperatorPrompts.ReadScore(reply, settings.ValidationCases[c].Checker!) is { } score ? score : 0;
}
