using D8.Emulators.Hosting;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;

namespace D8.Emulators.Server;

/// <summary>Runs one emulator until stopped, writing one line per request to stdout (the Docker tests read them).</summary>
internal static class EmulatorProcess
{
    /// <summary>Where the Ollama emulator keeps its pulled models across restarts (the ollama-models volume).</summary>
    private const string ModelsFile = "/root/.ollama/d8-emulator-models";

    public static async Task<int> RunOllamaAsync(int port, CancellationToken ct)
    {
        var installed = File.Exists(ModelsFile) ? (await File.ReadAllLinesAsync(ModelsFile, ct)).Where(l => l.Length > 0).ToList() : [];
        await using var emulator = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions
        {
            ListenUrl = $"http://0.0.0.0:{port}",
            InstalledModels = installed,
            TokenDelay = TokenDelay(),
        }, ct);
        Console.WriteLine($"ollama emulator listening on {port}; models: {string.Join(",", installed)}");
        // Persist what a pull installed (after each request and at exit), as Ollama keeps models in its volume.
        async Task SaveAsync()
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(ModelsFile)!);
                await File.WriteAllLinesAsync(ModelsFile, emulator.InstalledModels, CancellationToken.None);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // Run outside its container by a non-root user (e.g. beside `dotnet run --project D8.AppHost`): the
                // models are then kept for this process only, as the in-process emulators keep them.
            }
        }
        await LogRequestsAsync(emulator, SaveAsync, ct);
        await SaveAsync();
        return 0;
    }

    public static async Task<int> RunOpenAiAsync(int port, string name, string? apiKey, CancellationToken ct)
    {
        await using var emulator = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
        {
            ListenUrl = $"http://0.0.0.0:{port}",
            Name = name,
            ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey,
            TokenDelay = TokenDelay(),
        }, ct);
        Console.WriteLine($"{name} listening on {port}");
        await LogRequestsAsync(emulator, () => Task.CompletedTask, ct);
        return 0;
    }

    /// <summary>D8_EMULATOR_TOKEN_DELAY_MS: delay between streamed tokens (tests use it to catch a task mid-run).</summary>
    private static TimeSpan TokenDelay() =>
        int.TryParse(Environment.GetEnvironmentVariable("D8_EMULATOR_TOKEN_DELAY_MS"), out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;

    /// <summary>Prints "request METHOD PATH" for each request as it arrives, until <paramref name="ct"/> fires.</summary>
    private static async Task LogRequestsAsync(EmulatorHost emulator, Func<Task> afterEach, CancellationToken ct)
    {
        var seen = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await emulator.Requests.WaitForCountAsync(_ => true, seen + 1, Timeout.InfiniteTimeSpan, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            foreach (var request in emulator.Requests.Snapshot().Skip(seen))
            {
                Console.WriteLine($"request {request.Method} {request.Path}");
                seen++;
            }
            await afterEach();
        }
    }
}
