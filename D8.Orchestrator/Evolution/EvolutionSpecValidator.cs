using System.Text.Json;
using System.Text.RegularExpressions;
using D8.Contracts;
using Json.Schema;

namespace D8.Orchestrator.Evolution;

/// <summary>Checks an evolution spec field by field; every problem is listed (path → messages), not just the first.</summary>
public static class EvolutionSpecValidator
{
    public const int MaxPromptLength = 20_000;
    public static readonly IReadOnlyList<string> CheckerTypes = ["exact", "contains", "regex", "json_schema", "numeric", "judge"];
    private static readonly string[] Roles = ["system", "user", "assistant"];

    public static Dictionary<string, string[]> Validate(EvolutionSpec s)
    {
        var errors = new Dictionary<string, string[]>();
        void Add(string field, string message) => errors[field] = [.. errors.GetValueOrDefault(field, []), message];
        void Unknown(string path, Dictionary<string, JsonElement>? unknown)
        {
            foreach (var key in unknown?.Keys ?? Enumerable.Empty<string>())
            {
                Add(path.Length == 0 ? key : $"{path}.{key}", $"'{key}' is not a field of {(path.Length == 0 ? "the spec" : path)}.");
            }
        }

        Unknown("", s.Unknown);
        if (s.Name is { Length: > 200 }) Add("name", "name must be at most 200 characters.");
        if (s.SeedPrompts is not { Count: > 0 })
        {
            Add("seed_prompts", "give at least one seed prompt.");
        }
        else
        {
            for (var i = 0; i < s.SeedPrompts.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(s.SeedPrompts[i])) Add($"seed_prompts[{i}]", "a seed prompt must not be empty.");
                else if (s.SeedPrompts[i].Length > MaxPromptLength) Add($"seed_prompts[{i}]", $"a seed prompt must be at most {MaxPromptLength} characters.");
            }
        }
        var population = s.PopulationSize ?? EvolutionSettings.DefaultPopulation;
        if (s.PopulationSize is { } p && (p < 2 || p > 1000)) Add("population_size", "population_size must be from 2 to 1000.");
        if (s.Generations is { } g && (g < 1 || g > 1000)) Add("generations", "generations must be from 1 to 1000 (the seed generation counts).");
        if ((long)population * (s.Generations ?? EvolutionSettings.DefaultGenerations) > 100_000) Add("generations", "population_size × generations must be at most 100000.");
        if (s.EliteCount is { } e && (e < 0 || e >= population)) Add("elite_count", $"elite_count must be from 0 to population_size - 1 ({population - 1}).");
        if (s.TournamentSize is { } t && (t < 1 || t > population)) Add("tournament_size", $"tournament_size must be from 1 to population_size ({population}).");
        if (s.CrossoverRate is { } cr && (double.IsNaN(cr) || cr < 0 || cr > 1)) Add("crossover_rate", "crossover_rate must be between 0 and 1.");
        if (s.MutationRate is { } mr && (double.IsNaN(mr) || mr < 0 || mr > 1)) Add("mutation_rate", "mutation_rate must be between 0 and 1.");
        if (s.MutationOperators is { } ops)
        {
            if (ops.Count == 0) Add("mutation_operators", "list at least one operator, or leave mutation_operators out for all of them.");
            for (var i = 0; i < ops.Count; i++)
            {
                if (!MutationOperatorNames.All.Contains(ops[i]))
                {
                    Add($"mutation_operators[{i}]", $"'{ops[i]}' is not an operator: use {string.Join(", ", MutationOperatorNames.All)}.");
                }
            }
        }
        if (s.Selection is { } sel && !EvolutionSettings.SelectionNames.Contains(sel)) Add("selection", $"selection must be one of {string.Join(", ", EvolutionSettings.SelectionNames)}.");
        if (s.Objectives is { } objectives)
        {
            for (var i = 0; i < objectives.Count; i++)
            {
                if (!EvolutionSettings.ObjectiveNames.Contains(objectives[i])) Add($"objectives[{i}]", $"an objective must be one of {string.Join(", ", EvolutionSettings.ObjectiveNames)}.");
                else if (objectives.Take(i).Contains(objectives[i])) Add($"objectives[{i}]", $"'{objectives[i]}' is listed twice.");
            }
            if (!objectives.Contains(EvolutionSettings.FitnessObjective)) Add("objectives", "objectives must include fitness.");
        }
        if (s.ReflectionCases is { } rc && (rc < 1 || rc > 50)) Add("reflection_cases", "reflection_cases must be from 1 to 50.");
        if (s.ReflectionMaxChars is { } rm && (rm < 200 || rm > 100_000)) Add("reflection_max_chars", "reflection_max_chars must be from 200 to 100000.");
        Target("operators", s.Operators, Add, Unknown);
        Target("evaluation", s.Evaluation, Add, Unknown);
        Target("judge", s.Judge, Add, Unknown);
        if (s.Cases is not { Count: > 0 })
        {
            Add("cases", "give at least one evaluation case.");
        }
        else if (s.Cases.Count > 200)
        {
            Add("cases", "at most 200 cases.");
        }
        else
        {
            for (var i = 0; i < s.Cases.Count; i++) Case($"cases[{i}]", s.Cases[i], Add, Unknown);
            if (s.MinibatchSize is { } mb && (mb < 0 || mb >= s.Cases.Count)) Add("minibatch_size", $"minibatch_size must be from 0 (off) to the number of cases - 1 ({s.Cases.Count - 1}).");
        }
        if (s.ValidationCases is { Count: > 200 }) Add("validation_cases", "at most 200 validation cases.");
        else for (var i = 0; i < (s.ValidationCases?.Count ?? 0); i++) Case($"validation_cases[{i}]", s.ValidationCases![i], Add, Unknown);
        if (s.Budget is { } b)
        {
            Unknown("budget", b.Unknown);
            if (b.MaxTasks is < 1) Add("budget.max_tasks", "max_tasks must be at least 1.");
            if (b.MaxTokens is < 1) Add("budget.max_tokens", "max_tokens must be at least 1.");
            if (b.MaxWallSeconds is { } w && (double.IsNaN(w) || w <= 0 || w > 365 * 86400)) Add("budget.max_wall_seconds", "max_wall_seconds must be more than 0 (and at most a year).");
        }
        return errors;
    }

    private static void Target(string path, EvolutionTarget? t, Action<string, string> add, Action<string, Dictionary<string, JsonElement>?> unknown)
    {
        if (t is null) return;
        unknown(path, t.Unknown);
        if (t.Provider is { } provider && !ProviderCatalog.IsKnown(provider)) add($"{path}.provider", $"provider must be one of {ProviderCatalog.NameList}.");
        if (t.Model is { } model && (model.Length == 0 || model.Length > 200)) add($"{path}.model", "model must be 1 to 200 characters.");
        if (t.Temperature is { } temp && (double.IsNaN(temp) || temp < 0 || temp > 2)) add($"{path}.temperature", "temperature must be between 0 and 2.");
        if (t.MaxTokens is { } mt && (mt < 1 || mt > 1_000_000)) add($"{path}.max_tokens", "max_tokens must be from 1 to 1000000.");
    }

    private static void Case(string path, EvolutionCase? c, Action<string, string> add, Action<string, Dictionary<string, JsonElement>?> unknown)
    {
        if (c is null)
        {
            add(path, "a case must be an object.");
            return;
        }
        unknown(path, c.Unknown);
        var hasMessages = c.Messages is { Count: > 0 };
        if (string.IsNullOrWhiteSpace(c.Input) == !hasMessages)
        {
            add(path, "give either input (one user message) or a non-empty messages list.");
        }
        for (var i = 0; i < (c.Messages?.Count ?? 0); i++)
        {
            var m = c.Messages![i];
            if (m is null || !Roles.Contains(m.Role)) add($"{path}.messages[{i}].role", "role must be system, user or assistant.");
            if (m is not null && m.Content is null) add($"{path}.messages[{i}].content", "content is required.");
        }
        if (c.Weight is { } w && (double.IsNaN(w) || w <= 0 || w > 1000)) add($"{path}.weight", "weight must be more than 0 and at most 1000.");
        if (c.Checker is not { } k)
        {
            add($"{path}.checker", "every case needs a checker.");
            return;
        }
        var cp = $"{path}.checker";
        unknown(cp, k.Unknown);
        switch (k.Type)
        {
            case "exact" or "contains":
                if (k.Expected is not { ValueKind: JsonValueKind.String or JsonValueKind.Number } expected || Checkers.TextOf(expected).Length == 0)
                    add($"{cp}.expected", $"{k.Type} needs a non-empty expected text.");
                break;
            case "regex":
                if (string.IsNullOrEmpty(k.Pattern)) add($"{cp}.pattern", "regex needs a pattern.");
                else
                {
                    try { _ = new Regex(k.Pattern, RegexOptions.None, Checkers.RegexTimeout); }
                    catch (ArgumentException ex) { add($"{cp}.pattern", "the pattern does not compile: " + ex.Message); }
                }
                break;
            case "json_schema":
                if (k.Schema is not { ValueKind: JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False } schema)
                    add($"{cp}.schema", "json_schema needs a schema (a JSON Schema object).");
                else
                {
                    try { _ = JsonSchema.FromText(schema.GetRawText()); }
                    catch (Exception ex) when (ex is JsonSchemaException or JsonException or ArgumentException or InvalidOperationException or NotSupportedException or KeyNotFoundException)
                    { add($"{cp}.schema", "the schema is not a valid JSON Schema: " + ex.Message); }
                }
                break;
            case "numeric":
                if (k.Expected is not { } num || !Checkers.TryNumber(num, out _)) add($"{cp}.expected", "numeric needs a number as expected.");
                if (k.Tolerance is { } tol && (double.IsNaN(tol) || tol < 0)) add($"{cp}.tolerance", "tolerance must be 0 or more.");
                break;
            case "judge":
                if (string.IsNullOrWhiteSpace(k.Rubric)) add($"{cp}.rubric", "judge needs a rubric.");
                if ((k.ScaleMin ?? 1) >= (k.ScaleMax ?? 10)) add($"{cp}.scale_max", "scale_max must be greater than scale_min (default 1 to 10).");
                break;
            default:
                add($"{cp}.type", $"type must be one of {string.Join(", ", CheckerTypes)}.");
                break;
        }
    }
}
