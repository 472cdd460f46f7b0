namespace D8.Benchmarks.Schedule;

/// <summary>One worker of a benchmark fleet: its provider, slots, speed per request and provider limits (0: none).</summary>
internal sealed record WorkerSpec(string Name, string Provider, int Slots, double TokensPerSecond,
    int Rpm = 0, int Tpm = 0, int Rpd = 0, double RandomRateLimited = 0);

/// <summary>A benchmark scenario: the fleet, the batch (output tokens per task), and an optional second batch of
/// higher priority submitted once half the first is done (its makespan is the one reported).</summary>
internal sealed record ScheduleScenario(string Name, IReadOnlyList<WorkerSpec> Fleet, IReadOnlyList<int> Batch,
    IReadOnlyList<int>? UrgentBatch = null)
{
    /// <summary>Free-tier figures of the providers' public documentation; speeds are the benchmark's choice.</summary>
    private static readonly WorkerSpec Groq = new("groq", "groq", 4, 300, Rpm: 30, Tpm: 6000, Rpd: 14_400);
    private static readonly WorkerSpec Gemini = new("gemini", "gemini", 4, 150, Rpm: 5, Tpm: 250_000, Rpd: 20);

    public static IReadOnlyList<ScheduleScenario> All()
    {
        var tailFleet = new[] { new WorkerSpec("cloud", "groq", 2, 300), new WorkerSpec("pi", "ollama", 1, 10) };
        var random = new Random(12);
        var mixed = Enumerable.Range(0, 200).Select(_ => random.Next(50, 801)).ToArray();
        var freeTier = new[] { Groq, Gemini, new WorkerSpec("pi-4", "ollama", 1, 4), new WorkerSpec("pi-8", "ollama", 1, 8) };
        return
        [
            new("tail", tailFleet, Enumerable.Repeat(200, 20).ToArray()),
            new("free-tier", freeTier, mixed),
            new("storm", [Groq with { RandomRateLimited = 0.3 }, .. freeTier.Skip(1)], mixed),
            new("priority", tailFleet, Enumerable.Repeat(200, 20).ToArray(), Enumerable.Repeat(200, 20).ToArray()),
        ];
    }
}
