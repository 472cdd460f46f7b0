using D8.Contracts;

namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun
{
    /// <summary>Under the lock: one event's effect on the run, written to the store before the next decision.</summary>
    private void Apply(RunEvent e)
    {
        switch (e)
        {
            case StopRequested stop:
                Finish(stop.State, stop.Reason);
                return;
            case Submitted s:
                if (_taskIds.TryAdd(s.Key, s.TaskId))
                {
                    _unrecorded = Math.Max(0, _unrecorded - 1);
                    _store.SaveTask(Id, s.Key, s.TaskId);
                }
                return;
            case Finished f when Record.State == EvolutionState.Running && _pending.Remove(f.Key, out var pending):
                if (!_taskIds.ContainsKey(f.Key) && f.View is { } v)
                {
                    _taskIds[f.Key] = v.Id;
                    _unrecorded = Math.Max(0, _unrecorded - 1);
                }
                var tokens = TokenTotals.Of(f.View?.Result?.Usage);
                Record.TokensUsed += tokens;
                Record.UpdatedAt = _time.GetUtcNow();
                var content = f.View is { State: TaskState.Succeeded, Result: { } r } ? r.Content : null;
                var why = content is null ? f.Error ?? $"task {(f.View is null ? null : WireNames.Of(f.View.State))}: {f.View?.Reason}" : null;
                switch (pending.Purpose)
                {
                    case Purpose.Operator: OperatorDone(pending.Genome, content); break;
                    case Purpose.Evaluate:
                        pending.Genome.AddTokens(pending.Case, tokens);
                        EvaluationDone(pending.Genome, pending.Case, content, why);
                        break;
                    case Purpose.Validate: ValidationDone(pending.Genome, pending.Case, content); break;
                    case Purpose.ValidateJudge: ValidationJudged(pending.Genome, pending.Case, content); break;
                    default:
                        pending.Genome.AddTokens(pending.Case, tokens);
                        JudgeDone(pending.Genome, pending.Case, content, why);
                        break;
                }
                _store.Save(Record, [pending.Genome], f.View is { } view ? (f.Key, view.Id) : null);
                _telemetry.TaskFinished(pending.Request.Kind!, content is not null);
                if (Settings.MaxTokens is { } max && Record.TokensUsed >= max)
                {
                    Finish(EvolutionState.Stopped, $"budget: max_tokens ({max}) reached");
                }
                return;
        }
    }

    /// <summary>
    /// An operator's reply: the new prompt, or (reply not JSON with a non-empty "prompt") one more attempt, then the
    /// fallback: a copy of the first parent, marked <see cref="Genome.Fallback"/>. Never an empty genome.
    /// </summary>
    private void OperatorDone(Genome genome, string? reply)
    {
        if (reply is not null && OperatorPrompts.ReadPrompt(reply) is { } prompt)
        {
            genome.Prompt = prompt;
        }
        else if (reply is not null && genome.OperatorAttempts == 0)
        {
            genome.OperatorAttempts = 1; // Advance asks again, under a new idempotency key.
            LogOperatorRetry(Id, genome.Id);
            return;
        }
        else
        {
            genome.Prompt = ParentPrompt(genome);
            genome.Fallback = true;
            LogOperatorFallback(Id, genome.Id, reply is null ? "the task failed" : "the reply had no usable JSON prompt twice");
        }
        // The same prompt already scored elsewhere in the run: reuse its scores instead of evaluating it again.
        var twin = _generations.SelectMany(g => g).FirstOrDefault(x => x != genome && x.Complete && x.Prompt == genome.Prompt);
        if (twin is not null)
        {
            genome.CopyScoresFrom(twin);
            genome.TasksAtFitness = TasksIssued;
        }
    }

    private string ParentPrompt(Genome genome)
    {
        var parentId = genome.Parents.FirstOrDefault();
        var parent = _generations.SelectMany(g => g).FirstOrDefault(x => x.Id == parentId);
        return parent?.Prompt ?? Settings.SeedPrompts[0];
    }

    private void EvaluationDone(Genome genome, int c, string? answer, string? why)
    {
        if (answer is null)
        {
            Score(genome, c, 0, "evaluation " + why);
            return;
        }
        (genome.Answers ??= [])[c] = Reflection.Trim(answer, Reflection.StoredAnswerChars);
        var checker = Settings.Cases[c].Checker!;
        if (Checkers.Score(checker, answer) is { } score)
        {
            ToCache(genome, c, score);
            Score(genome, c, score, null);
            return;
        }
        // A judge checker: one more task, issued right away.
        var starts = new List<Action>();
        Issue(Purpose.Judge, genome, c, JudgeKey(genome, c), JudgeRequest(genome, c, answer), starts);
        foreach (var start in starts) start();
    }

    private void JudgeDone(Genome genome, int c, string? reply, string? why)
    {
        if (reply is not null && OperatorPrompts.ReadScore(reply, Settings.Cases[c].Checker!) is { } score)
        {
            if (OperatorPrompts.ReadReason(reply) is { } reason) (genome.Reasons ??= [])[c] = Reflection.Trim(reason, 500);
            ToCache(genome, c, score);
            Score(genome, c, score, null);
            return;
        }
        Score(genome, c, 0, reply is null ? "judge " + why : "the judge's reply had no numeric score");
    }

    /// <summary>Scores a case from the evaluation cache (no task) when this run's settings allow it and it is there.</summary>
    private bool FromCache(Genome genome, int c)
    {
        if (_cache is not { Enabled: true } || !EvaluationCache.Applies(Settings, Settings.Cases[c])) return false;
        if (_cache.Get(EvaluationCache.Key(Settings, genome.Prompt!, Settings.Cases[c])) is not { } hit) return false;
        (genome.Answers ??= [])[c] = hit.Answer;
        if (hit.Reason is { } reason) (genome.Reasons ??= [])[c] = reason;
        (genome.Tokens ??= [])[c] = hit.Tokens;
        Record.CacheHits++;
        Score(genome, c, hit.Score, null);
        return true;
    }

    private void ToCache(Genome genome, int c, double score)
    {
        if (_cache is not { Enabled: true } || !EvaluationCache.Applies(Settings, Settings.Cases[c])) return;
        _cache.Put(EvaluationCache.Key(Settings, genome.Prompt!, Settings.Cases[c]),
            new CachedEvaluation(score, genome.Answers?.GetValueOrDefault(c) ?? "", genome.Reasons?.GetValueOrDefault(c),
                genome.Tokens?.GetValueOrDefault(c) ?? 0));
    }

    private void Score(Genome genome, int c, double score, string? note)
    {
        genome.Scores[c] = score;
        if (note is not null) (genome.Notes ??= [])[c] = note;
        if (genome.Complete) genome.TasksAtFitness = TasksIssued;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Evolution {RunId}: genome {GenomeId}'s operator reply was not JSON with a prompt; asking once more")]
    private partial void LogOperatorRetry(string runId, string genomeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evolution {RunId}: genome {GenomeId} falls back to a copy of its parent: {Why}")]
    private partial void LogOperatorFallback(string runId, string genomeId, string why);
}
