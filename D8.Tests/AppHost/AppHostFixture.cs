using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;

namespace D8.Tests.AppHost;

/// <summary>
/// Starts the real AppHost once: Ollama in external mode at the Ollama emulator (model not installed, so it must be
/// pulled), the Groq and Gemini workers pointed at OpenAI-compatible emulators. No containers are modelled.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    /// <summary>Resources every test expects healthy.</summary>
    public static readonly string[] Resources = ["orchestrator", "deepseek", "worker-deepseek", "worker-groq", "worker-gemini"];

    /// <summary>The model the AppHost pulls.</summary>
    public const string Model = "deepseek-coder:1.3b";

    /// <summary>Ollama stand-in.</summary>
    public OllamaEmulator Ollama { get; private set; } = null!;

    /// <summary>Groq stand-in.</summary>
    public OpenAiEmulator Groq { get; private set; } = null!;

    /// <summary>Gemini stand-in.</summary>
    public OpenAiEmulator Gemini { get; private set; } = null!;

    /// <summary>The running AppHost.</summary>
    public DistributedApplication App { get; private set; } = null!;

    private readonly AppHostTestData _data = new();

    /// <summary>Client API key given to the orchestrator.</summary>
    public const string ApiKey = "test-api-key-0123456789abcdef";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        Ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions { InstalledModels = [] }, cts.Token);
        Groq = await OpenAiEmulator.StartAsync(cancellationToken: cts.Token);
        Gemini = await OpenAiEmulator.StartAsync(cancellationToken: cts.Token);

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
        [
            "--Ollama:Mode=external", $"--Ollama:Url={Ollama.BaseUrl}",
            "--Parameters:join-token=test-join-token-0123456789", $"--Parameters:api-key={ApiKey}",
            "--Parameters:groq-api-key=test-groq-key", "--Parameters:gemini-api-key=test-gemini-key",
            $"--Workers:groq:BaseUrl={Groq.V1Endpoint}", $"--Workers:gemini:BaseUrl={Gemini.V1Endpoint}",
            _data.Argument,
        ], cts.Token);
        foreach (var worker in builder.Resources.OfType<ProjectResource>().Where(r => r.Name.StartsWith("worker-", StringComparison.Ordinal)))
        {
            var resource = builder.CreateResourceBuilder(worker);
            foreach (var (name, value) in AppHostTestData.UnlimitedBudget) resource.WithEnvironment(name, value);
        }
        App = await builder.BuildAsync(cts.Token);
        await App.StartAsync(cts.Token);
        foreach (var name in Resources)
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (App is not null) await App.DisposeAsync();
        if (Ollama is not null) await Ollama.DisposeAsync();
        if (Groq is not null) await Groq.DisposeAsync();
        if (Gemini is not null) await Gemini.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>Tests sharing one started AppHost.</summary>
[CollectionDefinition(Name)]
public sealed class AppHostCollection : ICollectionFixture<AppHostFixture>
{
    /// <summary>Collection name.</summary>
    public const string Name = "AppHost";
}
