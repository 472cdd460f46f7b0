using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Worker;

/// <summary>Bad worker configuration ends the process fast with exit code 2 and one clear line.</summary>
public sealed class ConfigurationTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, string?, string> Cases => new()
    {
        { "", "k", null, "D8_PROVIDER is required" },
        { "claude", "k", null, "D8_PROVIDER 'claude' is unknown" },
        { "groq", "", null, "D8_PROVIDER_API_KEY (or GROQ_API_KEY) is required" },
        { "gemini", "", null, "D8_PROVIDER_API_KEY (or GEMINI_API_KEY) is required" },
        { "openai", "k", null, "D8_MODEL is required for provider openai" },
        { "ollama", "", "not a url", "D8_ORCHESTRATOR_URL 'not a url' is not an absolute http(s) URL" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Invalid_configuration_exits_2_with_a_clear_message(string provider, string key, string? orchestratorUrl, string expected)
    {
        await using var worker = ProcessHost.Start("D8.Worker", new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any,
            ["D8_ORCHESTRATOR_URL"] = orchestratorUrl ?? "http://127.0.0.1:9",
            ["D8_JOIN_TOKEN"] = "j",
            ["D8_PROVIDER"] = provider,
            ["D8_PROVIDER_API_KEY"] = key,
            ["GROQ_API_KEY"] = null,
            ["GEMINI_API_KEY"] = null,
            ["OPENAI_API_KEY"] = null,
            ["D8_PROVIDER_BASE_URL"] = provider == "openai" ? "http://127.0.0.1:9/v1" : null,
        }, log: output, name: "bad-worker");

        var exitCode = await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", worker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", worker.Output, StringComparison.Ordinal);
    }
}
