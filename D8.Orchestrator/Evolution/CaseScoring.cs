using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// A genome's training cases scored: from the evaluation's answer (a rule checker), from the judge's reply (a judge
/// checker), or from the evaluation cache without a task; a failed task scores 0 with a note. Every score found is
/// remembered in the cache when the run's settings allow it. Decides the judge task a case needs; the run issues it.
/// <c>tasksIssued</c> is the run's count when called: a genome's last score records it as its tasks at fitness.
/// </summary>
internal sealed class CaseScoring(EvolutionSettings settings, RunRequests requests, EvaluationCache? cache)
{
    /// <summary>Reads an evaluation's answer (null: the task failed, <paramref name="why"/>); returns the judge task it needs, if any.</summary>
    public SubmitTaskRequest? Answered(Genome genome, int c, string? answer, string? why, long tasksIssued)
    {
        if (answer is null)
        {
            Score(genome, c, 0, "evaluation " + why, tasksIssued);
            return null;
        }
        (genome.Answers ??= [])[c] = Reflection.Trim(answer, Reflection.StoredAnswerChars);
        var checker = settings.Cases[c].Checker!;
        if (Checkers.Score(checker, answer) is { } score)
        {
            cache?.Remember(settings, genome, c, score);
            Score(genome, c, score, null, tasksIssued);
            return null;
        }
        return requests.Judge(genome, c, answer);
    }

    /// <summary>Reads a judge's reply: its score and reason, or 0 with a note.</summary>
    public void Judged(Genome genome, int c, string? reply, string? why, long tasksIssued)
    {
        if (reply is not null && OperatorPrompts.ReadScore(reply, settings.Cases[c].Checker!) is { } score)
        {
            if (OperatorPrompts.ReadReason(reply) is { } reason) (genome.Reasons ??= [])[c] = Reflection.Trim(reason, 500);
            cache?.Remember(settings, genome, c, score);
            Score(genome, c, score, null, tasksIssued);
            return;
        }
        Score(genome, c, 0, reply is null ? "judge " + why : "the judge's reply had no numeric score", tasksIssued);
    }

    /// <summary>Scores a case from the evaluation cache (no task) when the run's settings allow it and it is there.</summary>
    public bool FromCache(Genome genome, int c, long tasksIssued)
    {
        if (cache?.Lookup(settings, genome.Prompt!, c) is not { } hit) return false;
        (genome.Answers ??= [])[c] = hit.Answer;
        if (hit.Reason is { } reason) (genome.Reasons ??= [])[c] = reason;
        (genome.Tokens ??= [])[c] = hit.Tokens;
        Score(genome, c, hit.Score, null, tasksIssued);
        return true;
    }

    private static void Score(Genome genome, int c, double score, string? note, long tasksIssued)
    {
        genome.Scores[c] = score;
        if (note is not null) (genome.Notes ??= [])[c] = note;
        if (genome.Complete) genome.TasksAtFitness = tasksIssued;
    }
}
