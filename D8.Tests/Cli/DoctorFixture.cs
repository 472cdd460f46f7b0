using System.Text.Json;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>A healthy worker host for doctor tests: a real orchestrator, a complete .env, a valid compose file, a fake machine.</summary>
public sealed class DoctorHost : IAsyncDisposable
{
    public const string ComposeYaml = """
        services:
          orchestrator:
            image: d8-orchestrator:latest
            profiles: [orchestrator, full-system]
            environment:
              D8_JOIN_TOKEN: ${D8_JOIN_TOKEN}
              D8_API_KEYS: ${D8_API_KEYS}
          ollama:
            image: ollama/ollama:latest
            profiles: [worker-deepseek, full-system]
          worker-deepseek:
            image: d8-worker:latest
            profiles: [worker-deepseek, full-system]
            depends_on: [ollama]
            environment:
              D8_ORCHESTRATOR_URL: ${D8_ORCHESTRATOR_URL}
              D8_JOIN_TOKEN: ${D8_JOIN_TOKEN}
              D8_PROVIDER: ollama
              D8_OLLAMA_CONNECTION: "Endpoint=http://ollama:11434;Model=${D8_DEEPSEEK_MODEL:-deepseek-coder:1.3b}"
          worker-groq:
            image: d8-worker:latest
            profiles: [worker-groq, full-system]
            environment:
              D8_ORCHESTRATOR_URL: ${D8_ORCHESTRATOR_URL}
              D8_JOIN_TOKEN: ${D8_JOIN_TOKEN}
              D8_PROVIDER: groq
              D8_PROVIDER_API_KEY: ${GROQ_API_KEY}
              OTEL_EXPORTER_OTLP_ENDPOINT: ${OTEL_EXPORTER_OTLP_ENDPOINT:-}
              PRICE_NOTE: "$$0.05 per million"
        """;

    private DoctorHost(InProcessOrchestrator orch)
    {
        Orchestrator = orch;
        Cli.System = System;
        Env = new Dictionary<string, string>
        {
            ["D8_ORCHESTRATOR_URL"] = orch.BaseUrl.AbsoluteUri,
            ["D8_JOIN_TOKEN"] = orch.JoinToken,
            ["D8_PROVIDER"] = "groq",
            ["GROQ_API_KEY"] = "gsk-test-key",
            ["D8_API_KEY"] = orch.ApiKey,
        };
        File.WriteAllText(Cli.PathOf("docker-compose.generated.yml"), ComposeYaml);
    }

    public InProcessOrchestrator Orchestrator { get; }
    public CliRun Cli { get; } = new();
    public FakeSystem System { get; } = new();
    /// <summary>What the .env will hold; written by <see cref="DoctorAsync"/>.</summary>
    public Dictionary<string, string> Env { get; }

    public static async Task<DoctorHost> StartAsync() => new(await InProcessOrchestrator.StartAsync());

    public void WriteEnv() =>
        File.WriteAllLines(Cli.PathOf(".env"), Env.Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>Runs <c>d8 doctor --json</c> (optionally only some checks) and returns the exit code and each check by name.</summary>
    public async Task<(int ExitCode, Dictionary<string, (string Status, string Message, string? Fix)> Checks, CliResult Raw)> DoctorAsync(params string[] args)
    {
        WriteEnv();
        var result = await Cli.RunAsync(["doctor", "--json", .. args]);
        Assert.True(result.Out.TrimStart().StartsWith('{'), result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        var checks = doc.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(
            c => c.GetProperty("name").GetString()!,
            c => (c.GetProperty("status").GetString()!, c.GetProperty("message").GetString()!,
                c.TryGetProperty("fix", out var f) ? f.GetString() : null));
        return (result.ExitCode, checks, result);
    }

    public async ValueTask DisposeAsync()
    {
        await Orchestrator.DisposeAsync();
        Cli.Dispose();
    }
}
