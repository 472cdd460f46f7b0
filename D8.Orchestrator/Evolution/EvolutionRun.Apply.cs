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
                    case Purpose.Operator: _breeder.Replied(pending.Genome, content, TasksIssued); break;
                    case Purpose.Evaluate:
                        pending.Genome.AddTokens(pending.Case, tokens);
                        if (_scoring.Answered(pending.Genome, pending.Case, content, why, TasksIssued) is { } judge)
                        {
                            // A judge checker: one more task, issued right away.
                            IssueNow(Purpose.Judge, pending.Genome, pending.Case, _requests.JudgeKey(pending.Genome, pending.Case), judge);
                        }
                        break;
                    case Purpose.Validate:
                        if (_validation.Answered(pending.Genome, pending.Case, content) is { } validationJudge)
                        {
                            IssueNow(Purpose.ValidateJudge, pending.Genome, pending.Case, _requests.ValidateJudgeKey(pending.Genome, pending.Case), validationJudge);
                        }
                        break;
                    case Purpose.ValidateJudge: _validation.Judged(pending.Genome, pending.Case, content); break;
                    default:
                        pending.Genome.AddTokens(pending.Case, tokens);
                        _scoring.Judged(pending.Genome, pending.Case, content, why, TasksIssued);
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
}
