using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// Evaluations reused across genomes and runs: a case's score for a prompt is keyed by (provider, model, temperature,
/// max_tokens, json_mode, genome text, the case's messages, the checker — and the judge's target for a judge checker),
/// and kept for D8_EVAL_CACHE_DAYS. Only deterministic settings are cached: temperature 0 on the evaluation target
/// (and the judge's, for judge cases), or the spec's explicit <c>cache: true</c>; <c>cache: false</c> turns it off.
/// A hit scores the case without a task and counts in the run's cache_hits.
/// </summary>
public sealed class EvaluationCache(EvolutionStore store, TimeProvider time, TimeSpan age)
{
    public bool Enabled => age > TimeSpan.Zero;

    /// <summary>Whether the case's evaluations of this run may be cached.</summary>
    public static bool Applies(EvolutionSettings s, EvolutionCase c) =>
        s.Cache ?? (s.Evaluation.Temperature == 0 && (c.Checker?.Type != "judge" || s.Judge.Temperature == 0));

    public CachedEvaluation? Get(string key) => Enabled ? store.LoadCached(key, time.GetUtcNow() - age) : null;

    /// <summary>A run's cached evaluation of case <paramref name="c"/> for <paramref name="prompt"/>, when its settings allow caching and it is there.</summary>
    public CachedEvaluation? Lookup(EvolutionSettings s, string prompt, int c) =>
        Enabled && Applies(s, s.Cases[c]) ? Get(Key(s, prompt, s.Cases[c])) : null;

    /// <summary>Keeps a genome's scored case (its answer, the judge's reason, its tokens) when the run's settings allow caching.</summary>
    public void Remember(EvolutionSettings s, Genome genome, int c, double score)
    {
        if (!Enabled || !Applies(s, s.Cases[c])) return;
        Put(Key(s, genome.Prompt!, s.Cases[c]), new CachedEvaluation(score, genome.Answers?.GetValueOrDefault(c) ?? "",
            genome.Reasons?.GetValueOrDefault(c), genome.Tokens?.GetValueOrDefault(c) ?? 0));
    }

    public void Put(string key, CachedEvaluation value)
    {
        if (Enabled) store.SaveCached(key, value, time.GetUtcNow());
    }

    /// <summary>The cache key: SHA-256 over every input that decides the score.</summary>
    public static string Key(EvolutionSettings s, string genome, EvolutionCase c)
    {
        var text = new StringBuilder();
        void Part(string? value) => text.Append(value?.Length.ToString(CultureInfo.InvariantCulture) ?? "-").Append(':').Append(value).Append('|');
        void Target(EvolutionTarget t)
        {
            Part(t.Provider?.ToLowerInvariant());
            Part(t.Model);
            Part(t.Temperature?.ToString("R", CultureInfo.InvariantCulture));
            Part(t.MaxTokens?.ToString(CultureInfo.InvariantCulture));
        }
        Target(s.Evaluation);
        Part((c.JsonMode ?? false) ? "json" : "text");
        foreach (var m in OperatorPrompts.Evaluation(genome, c))
        {
            Part(m.Role);
            Part(m.Content);
        }
        Part(JsonSerializer.Serialize(c.Checker! with { Unknown = null }, D8JsonContext.Default.EvolutionChecker));
        if (c.Checker!.Type == "judge") Target(s.Judge);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
