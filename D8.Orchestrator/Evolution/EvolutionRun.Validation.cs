using D8.Contracts;

namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun
{
    /// <summary>
    /// Held-out cases: once a generation is fully scored, its best genome (the one its summary names) is scored on the
    /// validation cases too, unless a genome with the same prompt already is. Nothing else sees these scores: not
    /// selection, not reflection (no answers are kept), so the train/validation gap shows overfitting.
    /// </summary>
    private void ChooseForValidation(int g, List<Genome> changed)
    {
        if (Settings.ValidationCases.Count == 0) return;
        var best = _generations[g].OrderByDescending(x => x.Fitness(Settings)).ThenBy(x => x.Slot).First();
        if (_generations.SelectMany(x => x).Any(x => x.ValidationScores is not null && x.Prompt == best.Prompt)) return;
        best.ValidationScores = new double?[Settings.ValidationCases.Count];
        changed.Add(best);
    }

    /// <summary>Issues the validation evaluations not yet scored or under way.</summary>
    private void AdvanceValidation(List<Action> starts)
    {
        if (Settings.ValidationCases.Count == 0) return;
        foreach (var genome in _generations.SelectMany(x => x).Where(x => x.ValidationScores is not null))
        {
            for (var c = 0; c < genome.ValidationScores!.Length && Record.State == EvolutionState.Running; c++)
            {
                if (genome.ValidationScores[c] is null && !_pending.ContainsKey(_requests.ValidateKey(genome, c)) && !_pending.ContainsKey(_requests.ValidateJudgeKey(genome, c)))
                {
                    Issue(Purpose.Validate, genome, c, _requests.ValidateKey(genome, c), _requests.Validate(genome, c), starts);
                }
            }
        }
    }

    private bool ValidationComplete => _generations.All(g => g.All(x => x.ValidationScores?.All(v => v.HasValue) ?? true));

    private void ValidationDone(Genome genome, int c, string? answer)
    {
        var checker = Settings.ValidationCases[c].Checker!;
        if (answer is null || Checkers.Score(checker, answer) is { } score)
        {
            genome.ValidationScores![c] = answer is null ? 0 : Checkers.Score(checker, answer);
            return;
        }
        var starts = new List<Action>();
        Issue(Purpose.ValidateJudge, genome, c, _requests.ValidateJudgeKey(genome, c), _requests.ValidateJudge(genome, c, answer), starts);
        foreach (var start in starts) start();
    }

    private void ValidationJudged(Genome genome, int c, string? reply) =>
        genome.ValidationScores![c] = reply is not null && OperatorPrompts.ReadScore(reply, Settings.ValidationCases[c].Checker!) is { } score ? score : 0;
}
