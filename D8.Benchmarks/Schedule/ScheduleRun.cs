using D8.Benchmarks.Dispatch;
using D8.Contracts;
using D8.Emulators.Hosting;
using D8.Emulators.Limits;
using D8.Emulators.Ollama;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;

namespace D8.Benchmarks.Schedule;

/// <summary>
/// One scenario under one scheduler: an emulator per worker (speed and limits divided by the time scale), the real
/// orchestrator and worker processes, the batch submitted at once; the makespan is read from the orchestrator's own
/// timestamps (first task created → last task finished).
/// </summary>
internal sealed class ScheduleRun : IAsyncDisposable
{
    private const string Key = "bench-provider-key";
    private readonly List<EmulatorHost> _emulators = [];
    private readonly List<ProcessHost> _workers = [];
    private OrchestratorProcess? _orchestrator;
    private HttpClient? _http;

    public sealed record Outcome(double Makespan, long Speculations, long SpeculationsWon, long TokensReported, long TokensOfResults,
        string PerWorker);

    public static async Task<Outcome> RunAsync(ScheduleScenario scenario, string scheduler, double scale)
    {
        await using var run = new ScheduleRun();
        return await run.ExecuteAsync(scenario, scheduler, scale);
    }

    private async Task<Outcome> ExecuteAsync(ScheduleScenario scenario, string scheduler, double scale)
    {
        _orchestrator = await OrchestratorProcess.StartAsync(settings: new Dictionary<string, string?>
        {
            ["D8_SCHEDULER"] = scheduler,
            ["D8_HEARTBEAT_SECONDS"] = "1",
            ["D8_SWEEP_INTERVAL_MS"] = "100",
            ["D8_SCHEDULER_RECHECK_MS"] = "50",
        });
        _http = new HttpClient { BaseAddress = _orchestrator.BaseUrl, Timeout = TimeSpan.FromSeconds(120) };
        var client = new OrchestratorClient(_http) { ApiKey = _orchestrator.ApiKey };
        foreach (var spec in scenario.Fleet)
        {
            await StartWorkerAsync(spec, scale);
        }
        var deadline = DateTime.UtcNow.AddSeconds(120);
        // Up: online, healthy, and each budgeted worker has reported its budget in a heartbeat.
        var budgeted = scenario.Fleet.Where(w => w.Rpm > 0 || w.Tpm > 0 || w.Rpd > 0).Select(w => w.Name).ToHashSet();
        while ((await client.GetWorkersAsync()).Count(w => w.State == WorkerState.Online && w.Healthy
                   && (!budgeted.Contains(w.Name) || w.Budget.Count > 0)) < scenario.Fleet.Count)
        {
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException("the fleet did not come up");
            await Task.Delay(100); // readiness polling, not synchronisation
        }

        var first = await SubmitAsync(client, scenario.Batch, 5, "a");
        List<string> measured = first;
        if (scenario.UrgentBatch is { } urgent)
        {
            // Half of the first batch done, then the urgent batch arrives.
            while ((await client.GetStatsAsync()).Tasks["succeeded"] < scenario.Batch.Count / 2)
            {
                await Task.Delay(20); // progress polling
            }
            measured = await SubmitAsync(client, urgent, 9, "b");
        }
        var views = new List<TaskView>();
        foreach (var id in first.Concat(measured == first ? [] : measured))
        {
            TaskView view;
            do view = await client.GetTaskAsync(id, TimeSpan.FromSeconds(30));
            while (!view.State.IsTerminal());
            if (view.State != TaskState.Succeeded) throw new InvalidOperationException($"task {id} {view.State}: {view.Reason}");
            views.Add(view);
        }
        var batch = views.Where(v => measured.Contains(v.Id)).ToList();
        var makespan = (batch.Max(v => v.UpdatedAt) - batch.Min(v => v.CreatedAt)).TotalSeconds;
        var stats = await client.GetStatsAsync();
        var start = batch.Min(v => v.CreatedAt);
        var perWorker = string.Join(", ", batch.GroupBy(v => v.Result?.WorkerName ?? "?").OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{g.Key} {g.Count()} tasks/{g.Sum(v => v.Result?.Usage?.CompletionTokens ?? 0)} tokens, last at {(g.Max(v => v.UpdatedAt) - start).TotalSeconds:F1} s")));
        return new Outcome(makespan, stats.Speculations, stats.SpeculationsWon, stats.TokensReported,
            views.Sum(v => (long)(v.Result?.Usage?.TotalTokens ?? 0)), perWorker);
    }

    /// <summary>Submits the batch from 16 concurrent callers, so the whole batch is queued within a moment (a
    /// scheduler choosing among ready tasks sees the batch, not the first few submitted).</summary>
    private static async Task<List<string>> SubmitAsync(OrchestratorClient client, IReadOnlyList<int> batch, int priority, string tag)
    {
        var ids = new string[batch.Count];
        await Parallel.ForAsync(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var submitted = await client.SubmitAsync(new SubmitTaskRequest
            {
                Prompt = $"schedule {tag}{i}", MaxTokens = batch[i], Priority = priority,
            }, ct);
            ids[i] = submitted.Id;
        });
        return [.. ids];
    }

    private async Task StartWorkerAsync(WorkerSpec spec, double scale)
    {
        var delay = TimeSpan.FromSeconds(1 / spec.TokensPerSecond / scale);
        string url;
        if (spec.Provider == "ollama")
        {
            var ollama = await OllamaEmulator.StartAsync(new OllamaEmulatorOptions
            {
                Name = spec.Name, TokensPerAnswer = 100_000, TokenDelay = delay,
            });
            _emulators.Add(ollama);
            url = ollama.BaseUrl;
        }
        else
        {
            var openAi = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions
            {
                Name = spec.Name, ApiKey = Key, TokensPerAnswer = 100_000, TokenDelay = delay,
                RateLimitRequests = spec.Rpm, RateLimitTokens = spec.Tpm,
                Limits = new RateLimitOptions
                {
                    RequestsPerMinute = spec.Rpm, TokensPerMinute = spec.Tpm, RequestsPerDay = spec.Rpd,
                    RandomRefusalFraction = spec.RandomRateLimited, TimeScale = scale, Seed = 7,
                },
            });
            _emulators.Add(openAi);
            url = openAi.BaseUrl + (spec.Provider == "gemini" ? "/v1beta/openai" : "/openai/v1");
        }
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = FreePort.Any, // its /health is not used here
            ["D8_ORCHESTRATOR_URL"] = _orchestrator!.BaseUrl.ToString(),
            ["D8_JOIN_TOKEN"] = _orchestrator.JoinToken,
            ["D8_WORKER_NAME"] = spec.Name,
            ["D8_PROVIDER"] = spec.Provider,
            ["D8_CONCURRENCY"] = spec.Slots.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["D8_RPM"] = spec.Rpm.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["D8_TPM"] = spec.Tpm.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["D8_RPD"] = spec.Rpd.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["D8_BUDGET_TIME_SCALE"] = ((int)scale).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Warning",
        };
        if (spec.Provider == "ollama") env["D8_OLLAMA_URL"] = url;
        else
        {
            env["D8_PROVIDER_BASE_URL"] = url;
            env["D8_PROVIDER_API_KEY"] = Key;
        }
        _workers.Add(ProcessHost.Launch("D8.Worker", env, log: line => Console.Error.WriteLine(line), name: spec.Name, keepOutput: false));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers) await worker.DisposeAsync();
        if (_orchestrator is not null) await _orchestrator.DisposeAsync();
        foreach (var emulator in _emulators) await emulator.DisposeAsync();
        _http?.Dispose();
    }
}
