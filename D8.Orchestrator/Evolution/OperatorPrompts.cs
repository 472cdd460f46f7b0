using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using D8.Contracts;

namespace D8.Orchestrator.Evolution;

/// <summary>
/// The messages of operator and judge tasks, and the reading of their JSON replies. Prompts are quoted between
/// <c>"""</c> lines; replies are asked for as JSON (json_mode: OpenAI response_format, Ollama format) and read leniently
/// (code fences and text around the object are ignored). Parents' fitness is deliberately not in the operator prompts:
/// an operator's input then depends only on the parents' prompts, so a run is reproducible from its seed up to LLM
/// output (a deterministic model, like the emulators, gives the same lineage every time).
/// </summary>
public static class OperatorPrompts
{
    public const string OperatorSystem =
        "You improve system prompts for language models. You answer with one JSON object and nothing else.";
    public const string JudgeSystem =
        "You grade answers strictly against a rubric. You answer with one JSON object and nothing else.";

    public static IReadOnlyList<ChatMessage> Mutation(string op, string parent, string variant) =>
    [
        new("system", OperatorSystem),
        new("user", $""""
            Rewrite the system prompt below. Operator: {op}: {MutationOperatorNames.Instruction(op)}.
            Keep what works; change about a fifth of it.
            Prompt:
            """
            {parent}
            """
            Variant: {variant}
            Reply as JSON: {"{"}"prompt": "<the new system prompt>"{"}"}
            """"),
    ];

    public static IReadOnlyList<ChatMessage> Crossover(string a, string b, string? thenOp, string variant) =>
    [
        new("system", OperatorSystem),
        new("user", $""""
            Combine the two system prompts below into one child prompt that keeps the strengths of both (not a copy-paste of either).{(thenOp is null ? "" : $" Then also apply operator {thenOp}: {MutationOperatorNames.Instruction(thenOp)}.")}
            Parent A:
            """
            {a}
            """
            Parent B:
            """
            {b}
            """
            Variant: {variant}
            Reply as JSON: {"{"}"prompt": "<the child system prompt>"{"}"}
            """"),
    ];

    /// <summary>
    /// The reflect operator: the parent prompt and its weakest cases (<see cref="Reflection.Feedback"/>), asking for a
    /// prompt that fixes them without breaking the cases it passes. Only the parent is between <c>"""</c> lines.
    /// </summary>
    public static IReadOnlyList<ChatMessage> Reflect(string parent, string feedback, int passing, int total, string variant) =>
    [
        new("system", OperatorSystem),
        new("user", $""""
            The system prompt below was given to a model for each case that follows; it passes {passing} of {total} cases.
            Read the failing cases: the input, the answer the model gave, the checker's verdict and what was expected.
            Work out why the prompt led to these answers, then write an improved system prompt that fixes these failures
            without breaking the cases it passes. Keep what works; add general instructions, not answers to single cases
            unless a case demands exact content.
            Prompt:
            """
            {parent}
            """
            {(feedback.Length == 0 ? "It passes every case: make it clearer and shorter without losing any of them." : "Failing cases (weakest first):\n" + feedback)}
            Variant: {variant}
            Reply as JSON: {"{"}"prompt": "<the improved system prompt>"{"}"}
            """"),
    ];

    /// <summary>Pareto merge: two front members that are best on different cases, combined into one prompt.</summary>
    public static IReadOnlyList<ChatMessage> Merge(string a, IReadOnlyCollection<int> leadsA, string b, IReadOnlyCollection<int> leadsB, string variant) =>
    [
        new("system", OperatorSystem),
        new("user", $""""
            Merge the two system prompts below into one that keeps what makes each of them best on its cases: parent A is
            best on cases {string.Join(", ", leadsA.Order())}, parent B on cases {string.Join(", ", leadsB.Order())}. Keep every instruction
            that serves those cases, drop repeats, and resolve conflicts in favour of the more specific instruction.
            Parent A:
            """
            {a}
            """
            Parent B:
            """
            {b}
            """
            Variant: {variant}
            Reply as JSON: {"{"}"prompt": "<the merged system prompt>"{"}"}
            """"),
    ];

    public static IReadOnlyList<ChatMessage> Judge(EvolutionChecker checker, string question, string answer)
    {
        var min = checker.ScaleMin ?? 1;
        var max = checker.ScaleMax ?? 10;
        return
        [
            new("system", JudgeSystem),
            new("user", $""""
                Score the answer against the rubric on a scale from {min} to {max} ({max} is best).
                Rubric:
                """
                {checker.Rubric}
                """
                Question:
                """
                {question}
                """
                Answer:
                """
                {answer}
                """
                Reply as JSON: {"{"}"score": <number from {min} to {max}>, "reason": "<one sentence>"{"}"}
                """"),
        ];
    }

    /// <summary>The new prompt from an operator reply, or null if the reply is not JSON with a non-empty "prompt" string.</summary>
    public static string? ReadPrompt(string reply)
    {
        var node = Checkers.Property(reply, "prompt");
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return null;
        var prompt = v.GetValue<string>().Trim();
        return prompt.Length is > 0 and <= EvolutionSpecValidator.MaxPromptLength ? prompt : null;
    }

    /// <summary>A judge reply's "reason" string, or null.</summary>
    public static string? ReadReason(string reply) =>
        Checkers.Property(reply, "reason") is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>A judge reply's score mapped to 0..1 (clamped), or null if the reply has no numeric "score".</summary>
    public static double? ReadScore(string reply, EvolutionChecker checker)
    {
        var node = Checkers.Property(reply, "score");
        double score;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number) score = v.GetValue<double>();
        else if (node is JsonValue s && s.GetValueKind() == JsonValueKind.String
                 && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)) score = parsed;
        else return null;
        if (double.IsNaN(score)) return null;
        double min = checker.ScaleMin ?? 1, max = checker.ScaleMax ?? 10;
        return Math.Clamp((score - min) / (max - min), 0, 1);
    }

    /// <summary>The case's messages with the genome as system prompt in front.</summary>
    public static IReadOnlyList<ChatMessage> Evaluation(string genome, EvolutionCase c) =>
        [new("system", genome), .. c.Messages is { Count: > 0 } m ? m : [new ChatMessage("user", c.Input!)]];

    /// <summary>The case's question as the judge sees it (the last user message).</summary>
    public static string QuestionOf(EvolutionCase c) =>
        c.Input ?? c.Messages?.LastOrDefault(m => m.Role == "user")?.Content ?? "";
}
