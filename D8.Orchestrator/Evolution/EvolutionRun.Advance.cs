using D8.Contracts;

namespace D8.Orchestrator.Evolution;

public sealed partial class EvolutionRun
{
    /// <summary>
    /// Under the lock: fills every slot that can be filled now and queues the submits that can start (run after the
    /// lock in <paramref name="starts"/>). No generation waits for the previous one as a whole: a child is bred as soon
    /// as its tournaments are decided (<see cref="Selection.Tournament"/>), an elite as soon as the previous generation
    /// is ranked, and every genome with a prompt is evaluated at once.
    /// </summary>
    private void Advance(List<Action> starts)
    {
        if (Record.State != EvolutionState.Running) return;
        var changed = new List<Genome>();
        var recordChanged = false;
        // Changes made without a task (elites, twins, cache hits, minibatch verdicts) can unblock more: pass again.
        int before;
        do
        {
            before = changed.Count;
            recordChanged |= Pass(changed, starts);
        }
        while (changed.Count > before && Record.State == EvolutionState.Running);
        foreach (var (genome, c, request) in _validation.Due(_pending.ContainsKey))
        {
            if (Record.State != EvolutionState.Running) break;
            Issue(Purpose.Validate, genome, c, _requests.ValidateKey(genome, c), request, starts);
        }
        // One transaction: the genomes filled here and the run row (generation timings) land together.
        if (changed.Count > 0 || recordChanged) _store.Save(Record, changed.Distinct());
        if (Record.State == EvolutionState.Running && _generations.All(gen => gen.All(x => x.Complete)) && _validation.Complete)
        {
            Finish(EvolutionState.Completed, $"all {Settings.Generations} generations evaluated");
        }
    }

    /// <summary>One pass over the open generations; true when the run row changed (a generation finished).</summary>
    private bool Pass(List<Genome> changed, List<Action> starts)
    {
        var recordChanged = false;
        var leads = Leads();
        var rejected = _generations.SelectMany(x => x).Select(x => x.RejectedPrompt).OfType<string>().ToHashSet(StringComparer.Ordinal);
        // Generations before the first open one are complete: nothing in them can change.
        while (_firstOpen < _generations.Count && Record.GenerationFinished.ContainsKey(_firstOpen) && _generations[_firstOpen].All(x => x.Complete)) _firstOpen++;
        for (var g = _firstOpen; g < _generations.Count && Record.State == EvolutionState.Running; g++)
        {
            var generation = _generations[g];
            for (var slot = 0; slot < generation.Length && Record.State == EvolutionState.Running; slot++)
            {
                var genome = generation[slot];
                if (genome.Prompt is null)
                {
                    Breed(genome, _plans[g][slot], changed, starts);
                }
                if (genome.Prompt is not null && !genome.Complete && leads.GetValueOrDefault(genome.Prompt) is { } lead && lead != genome && lead.Prompt == genome.Prompt)
                {
                    // A twin: the same prompt is (being) scored by another genome; copy its scores once it is done.
                    if (lead.Complete)
                    {
                        genome.CopyScoresFrom(lead);
                        genome.TasksAtFitness = TasksIssued;
                        changed.Add(genome);
                    }
                }
                else if (genome.Prompt is not null && !genome.Complete)
                {
                    foreach (var c in _minibatch.CasesToEvaluate(genome, rejected, changed, TasksIssued))
                    {
                        if (genome.Scores[c] is null && !_pending.ContainsKey(_requests.EvaluateKey(genome, c)) && !_pending.ContainsKey(_requests.JudgeKey(genome, c)))
                        {
                            if (_scoring.FromCache(genome, c, TasksIssued))
                            {
                                Record.CacheHits++;
                                changed.Add(genome);
                                continue;
                            }
                            Issue(Purpose.Evaluate, genome, c, _requests.EvaluateKey(genome, c), _requests.Evaluate(genome, c), starts);
                        }
                    }
                }
            }
            if (NoteGenerationDone(g))
            {
                recordChanged = true;
                _validation.Choose(g, changed);
            }
        }
        return recordChanged;
    }

    /// <summary>
    /// For each prompt held by several genomes, the one whose scores count for all: a fully scored one, else one whose
    /// evaluation has started (in this life or a previous one), else the first. The others are not evaluated again.
    /// </summary>
    private Dictionary<string, Genome> Leads()
    {
        var leads = new Dictionary<string, Genome>(StringComparer.Ordinal);
        int Rank(Genome x) => x.Complete ? 2 : EvaluationStarted(x) ? 1 : 0;
        foreach (var genome in _generations.SelectMany(g => g))
        {
            if (genome.Prompt is null) continue;
            if (!leads.TryGetValue(genome.Prompt, out var lead) || Rank(genome) > Rank(lead)) leads[genome.Prompt] = genome;
        }
        return leads;
    }

    private bool EvaluationStarted(Genome g)
    {
        for (var c = 0; c < g.Scores.Length; c++)
        {
            if (g.Scores[c] is not null || _pending.ContainsKey(_requests.EvaluateKey(g, c)) || _taskIds.ContainsKey(_requests.EvaluateKey(g, c))) return true;
        }
        return false;
    }

    /// <summary>Fills a slot without a prompt (<see cref="Breeder"/>) and issues its operator task, if it has one now.</summary>
    private void Breed(Genome genome, SlotPlan plan, List<Genome> changed, List<Action> starts)
    {
        if (_pending.ContainsKey(_requests.OperatorKey(genome))) return;
        if (_breeder.Breed(genome, plan, changed) is { } request) Issue(Purpose.Operator, genome, -1, _requests.OperatorKey(genome), request, starts);
    }

    /// <summary>Starts a task (or re-attaches to the one a previous life of the orchestrator submitted) unless the task budget is spent.</summary>
    private void Issue(Purpose purpose, Genome genome, int caseIndex, string key, SubmitTaskRequest request, List<Action> starts)
    {
        var known = _taskIds.GetValueOrDefault(key);
        if (known is null && Settings.MaxTasks is { } max && _taskIds.Count + _unrecorded >= max)
        {
            Finish(EvolutionState.Stopped, $"budget: max_tasks ({max}) reached");
            return;
        }
        if (known is null) _unrecorded++;
        _pending[key] = new Pending(purpose, genome, caseIndex, request);
        if (!Record.GenerationStarted.ContainsKey(genome.Generation)) Record.GenerationStarted[genome.Generation] = _time.GetUtcNow();
        _telemetry.TaskIssued(request.Kind!, known is not null);
        starts.Add(() => _ = _tasks.SubmitAndWatchAsync(key, request, known));
    }

    /// <summary>Issues a task decided while applying a result (a judge) and starts it at once, without waiting for the next pass.</summary>
    private void IssueNow(Purpose purpose, Genome genome, int caseIndex, string key, SubmitTaskRequest request)
    {
        var starts = new List<Action>();
        Issue(purpose, genome, caseIndex, key, request, starts);
        foreach (var start in starts) start();
    }

    /// <summary>Records (once) that a generation has every fitness: log line, span, metrics. True when it did.</summary>
    private bool NoteGenerationDone(int g)
    {
        if (Record.GenerationFinished.ContainsKey(g) || !_generations[g].All(x => x.Complete)) return false;
        var now = _time.GetUtcNow();
        Record.GenerationFinished[g] = now;
        _telemetry.GenerationDone(this, Summary(g), Record.GenerationStarted.GetValueOrDefault(g, now), now);
        return true;
    }

    private void Finish(EvolutionState state, string reason)
    {
        if (Record.State != EvolutionState.Running) return;
        Record.State = state;
        Record.StopReason = reason;
        Record.FinishedAt = Record.UpdatedAt = _time.GetUtcNow();
        Record.TasksSubmitted = _taskIds.Count + _unrecorded;
        _store.Save(Record, []);
        _endStored = true;
        _telemetry.RunEnded(this, state, reason);
    }
}
