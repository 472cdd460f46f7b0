using D8.Contracts;

namespace D8.Tests.Evolution;

/// <summary>Specs the evolution tests share, and waiting for a run to end on the API's ?wait= signal.</summary>
public static class EvolutionSpecs
{
    /// <summary>Target words the emulator's mutations can add ("Be WORD."), one contains-case each.</summary>
    public static readonly string[] Targets = ["precise", "friendly", "concise", "clear"];

    /// <summary>
    /// Fitness is the share of target words the answer contains; the emulator's answer echoes the system prompt, and
    /// its mutations add a word from its vocabulary, so fitness can climb as mutation and crossover gather targets.
    /// </summary>
    public static EvolutionSpec Words(long seed, int generations = 6, string? operatorsProvider = "ollama",
        string? evaluationProvider = "groq", EvolutionBudget? budget = null, int population = 8) => new()
    {
        Name = "words",
        Seed = seed,
        SeedPrompts = ["You are a helpful assistant."],
        PopulationSize = population,
        Generations = generations,
        EliteCount = 2,
        TournamentSize = 3,
        CrossoverRate = 0.6,
        MutationRate = 0.3,
        Operators = new EvolutionTarget { Provider = operatorsProvider },
        Evaluation = new EvolutionTarget { Provider = evaluationProvider },
        Cases = [.. Targets.Select((w, i) => new EvolutionCase
        {
            Name = w,
            Input = $"Question {i}: tell me about {w} things.",
            Checker = new EvolutionChecker { Type = "contains", Expected = Json("\"" + w + "\"") },
        })],
        Budget = budget,
    };

    /// <summary>A JSON value from its text.</summary>
    public static System.Text.Json.JsonElement Json(string text)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>Waits (long-poll on GET ?wait=) until the run is no longer running.</summary>
    public static async Task<EvolutionView> WaitForEndAsync(OrchestratorClient client, string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var view = await client.GetEvolutionAsync(id, TimeSpan.FromSeconds(20));
            if (view.State != EvolutionState.Running) return view;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"evolution {id} still running: {System.Text.Json.JsonSerializer.Serialize(view, D8JsonContext.Default.EvolutionView)}");
        }
    }
}
