using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Headers;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Worker;
using OpenAI;
using OpenAI.Chat;

namespace D8.Tests.Gateway;

/// <summary>
/// One real orchestrator process and real worker processes for the OpenAI-door tests: a Groq worker and an Ollama
/// worker on fast emulators, and two slow Ollama workers (one slot each, models <see cref="SlowA"/>,
/// <see cref="SlowB"/>) whose answers take about a minute, to hold a call waiting.
/// </summary>
public sealed class GatewayFleet : IAsyncLifetime
{
    public const string Collection = "gateway fleet";

    public const string GroqModel = "llama-3.1-8b-instant";
    public const string OllamaModel = "deepseek-coder:1.3b";
    public const string SlowA = "slow-a";
    public const string SlowB = "slow-b";
    /// <summary>A model answered at a steady pace: <see cref="PacedTokens"/> tokens, one every <see cref="PacedDelay"/>.</summary>
    public const string Paced = "paced";
    public const int PacedTokens = 20;
    public static readonly TimeSpan PacedDelay = TimeSpan.FromMilliseconds(150);
    public const int GroqTokens = 7;
    public const int OllamaTokens = 9;

    private OpenAiEmulator? _groq;
    private OllamaEmulator? _ollama;
    private OllamaEmulator? _slowA;
    private OllamaEmulator? _slowB;
    private OllamaEmulator? _paced;

    public WorkerFleet Fleet { get; private set; } = null!;
    public Uri V1 => new(Fleet.BaseUrl, "v1/");
    public OpenAiEmulator Groq => _groq!;
    public OllamaEmulator Ollama => _ollama!;

    public async Task InitializeAsync()
    {
        _groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            Name = "groq-emulator", ApiKey = WorkerFleet.EmulatorKey, TokensPerAnswer = GroqTokens,
        });
        _ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions { Name = "pi-ollama", TokensPerAnswer = OllamaTokens });
        _slowA = await SlowAsync(SlowA);
        _slowB = await SlowAsync(SlowB);
        _paced = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions
        {
            Name = Paced, InstalledModels = [Paced], TokensPerAnswer = PacedTokens, TokenDelay = PacedDelay,
        });
        Fleet = await WorkerFleet.StartAsync(new FileOutput(Path.Combine(Path.GetTempPath(), "d8-gateway-fleet.log")));
        Fleet.StartWorker("groq-1", "groq", _groq.BaseUrl + "/openai/v1",
            new Dictionary<string, string?> { ["D8_RPM"] = "0", ["D8_TPM"] = "0", ["D8_RPD"] = "0" });
        Fleet.StartWorker("pi-1", "ollama", _ollama.BaseUrl);
        Fleet.StartWorker("slow-a-1", "ollama", _slowA.BaseUrl, new Dictionary<string, string?> { ["D8_MODEL"] = SlowA });
        Fleet.StartWorker("slow-b-1", "ollama", _slowB.BaseUrl, new Dictionary<string, string?> { ["D8_MODEL"] = SlowB });
        Fleet.StartWorker("paced-1", "ollama", _paced.BaseUrl, new Dictionary<string, string?> { ["D8_MODEL"] = Paced });
        foreach (var name in new[] { "groq-1", "pi-1", "slow-a-1", "slow-b-1", "paced-1" })
        {
            await Fleet.WaitForWorkerAsync(name);
        }
    }

    private static Task<OllamaEmulator> SlowAsync(string model) => OllamaEmulator.StartAsync(new OllamaEmulatorOptions
    {
        Name = model, InstalledModels = [model], TokensPerAnswer = 600, TokenDelay = TimeSpan.FromMilliseconds(100),
    });

    /// <summary>The official OpenAI SDK pointed at the orchestrator's /v1, without the SDK's own retries.</summary>
    public ChatClient Chat(string model, string? apiKey = null) =>
        new(model, new ApiKeyCredential(apiKey ?? Fleet.ApiKey), Options());

    public OpenAIClient Client(string? apiKey = null) => new(new ApiKeyCredential(apiKey ?? Fleet.ApiKey), Options());

    private OpenAIClientOptions Options() => new()
    {
        Endpoint = V1,
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = TimeSpan.FromSeconds(120),
    };

    /// <summary>A plain HTTP client with the API key, for what the SDK does not let a test send (n, audio…) or read.</summary>
    public HttpClient Http(string? apiKey = null)
    {
        var http = new HttpClient { BaseAddress = V1, Timeout = TimeSpan.FromSeconds(120) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? Fleet.ApiKey);
        return http;
    }

    public async Task DisposeAsync()
    {
        await Fleet.DisposeAsync();
        foreach (var emulator in new IAsyncDisposable?[] { _groq, _ollama, _slowA, _slowB, _paced })
        {
            if (emulator is not null) await emulator.DisposeAsync();
        }
    }

    /// <summary>The fleet outlives any one test's output helper: its processes' lines go to a file in the temp folder.</summary>
    private sealed class FileOutput(string path) : Xunit.Abstractions.ITestOutputHelper
    {
        private readonly object _gate = new();

        public void WriteLine(string message)
        {
            lock (_gate) File.AppendAllText(path, message + Environment.NewLine);
        }

        public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}

/// <summary>The gateway test classes share one fleet and run one after another.</summary>
[CollectionDefinition(GatewayFleet.Collection)]
public sealed class GatewayFleetCollection : ICollectionFixture<GatewayFleet>;
