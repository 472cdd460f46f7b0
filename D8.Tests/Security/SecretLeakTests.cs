using System.Net;
using System.Net.Http.Headers;
using D8.Contracts;
using D8.Contracts.Trust;
using D8.Emulators.Faults;
using D8.Emulators.OpenAi;
using D8.Tests.Infrastructure;
using Xunit.Abstractions;

namespace D8.Tests.Security;

/// <summary>
/// Known secrets (join token, worker token, API key, provider key) go through register, tasks, a failed task, refused
/// credentials, throttling and shutdown of a real orchestrator and worker over TLS; then every log line, every OTLP export
/// (spans, metrics, logs) and every problem-details body is searched for them.
/// </summary>
public sealed class SecretLeakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task No_secret_appears_in_logs_telemetry_or_problem_details()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        var providerKey = "gsk_leak_" + Guid.NewGuid().ToString("N");
        await using var groq = await OpenAiEmulator.StartAsync(new OpenAiEmulatorOptions { Name = "groq-leak", ApiKey = providerKey, TokensPerAnswer = 4 });
        Dictionary<string, string?> Telemetry(string service) => new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = service,
            ["OTEL_TRACES_SAMPLER"] = "always_on",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            // Everything at Information, framework categories included (request lines, HttpClient, Kestrel).
            ["Logging__LogLevel__Default"] = "Information",
        };
        var orchestratorEnv = Telemetry("leak-orchestrator");
        orchestratorEnv["D8_MAX_ATTEMPTS"] = "1";
        orchestratorEnv["D8_AUTH_FAILURE_LIMIT"] = "3";
        await using var fleet = await TlsFleet.StartAsync(output, orchestratorEnv);
        var joinToken = fleet.JoinTokenFromFile;
        var workerEnv = Telemetry("leak-worker");
        workerEnv["D8_PROVIDER_API_KEY"] = providerKey;
        var worker = fleet.StartWorker("leak-worker", groq.BaseUrl + "/openai/v1", joinToken, env: workerEnv);
        await worker.WaitForOutputAsync("Registered as worker", TlsFleet.Timeout);
        var client = fleet.Client;

        // A task that succeeds and one the provider refuses (a failure reported and recorded).
        var ok = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "leak check", Provider = "groq" });
        Assert.Equal(TaskState.Succeeded, (await client.GetTaskAsync(ok.Id, TimeSpan.FromSeconds(60))).State);
        groq.Enqueue(Fault.Status(400, "bad request"));
        var failing = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "fail me", Provider = "groq" });
        Assert.Equal(TaskState.Failed, (await client.GetTaskAsync(failing.Id, TimeSpan.FromSeconds(60))).State);

        // A worker driven by the test, so its worker token is known: register, heartbeat, an empty lease, leave.
        var manual = await new OrchestratorClient(client.Http) { JoinToken = joinToken }.RegisterWorkerAsync(
            new RegisterWorkerRequest { Name = "manual", Provider = "ollama", Models = ["none"], MaxConcurrency = 1 });
        var workerToken = manual.Token;
        await manual.HeartbeatAsync(new HeartbeatRequest());
        Assert.Empty(await manual.LeaseAsync(1, TimeSpan.FromSeconds(1)));
        await manual.DeregisterAsync();

        // Refused credentials, each a near miss of a real secret, then throttling: collect every problem body.
        var bodies = new List<string>();
        async Task<HttpStatusCode> Refused(string path, HttpMethod method, string credential)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
            using var response = await client.Http.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, response.StatusCode.ToString());
            bodies.Add(await response.Content.ReadAsStringAsync());
            return response.StatusCode;
        }
        await Refused("api/workers/join-check", HttpMethod.Get, fleet.Secret + "x");
        await Refused($"api/workers/{manual.Id}/heartbeat", HttpMethod.Post, workerToken);
        foreach (var nearMiss in new[] { fleet.ApiKey + "x", "x" + fleet.ApiKey, fleet.ApiKey[..^1] })
        {
            await Refused("api/stats", HttpMethod.Get, nearMiss);
        }
        // Three wrong API keys reach the limit (counted per scheme): now even the right key waits.
        Assert.Equal(HttpStatusCode.TooManyRequests, await Refused("api/stats", HttpMethod.Get, fleet.ApiKey));

        // Shutdown: the worker drains and deregisters, then the orchestrator stops; both flush their exporters.
        Assert.Equal(0, await worker.StopAsync(TlsFleet.Timeout));
        await fleet.StopOrchestratorAsync();
        Assert.Contains("traces", otlp.SignalsFrom("leak-orchestrator"));
        Assert.Contains("metrics", otlp.SignalsFrom("leak-orchestrator"));
        Assert.Contains("logs", otlp.SignalsFrom("leak-worker"));
        Assert.Contains("metrics", otlp.SignalsFrom("leak-worker"));

        var secrets = new Dictionary<string, string>
        {
            ["join secret"] = fleet.Secret, ["pinned join token"] = joinToken, ["worker token"] = workerToken,
            ["API key"] = fleet.ApiKey, ["provider key"] = providerKey,
        };
        var places = new List<(string Where, string Text)>
        {
            ("orchestrator log", fleet.Orchestrator!.Output), ("worker log", worker.Output),
        };
        places.AddRange(otlp.Exports.Select((e, i) => ($"OTLP {e.Signal} export #{i}", e.Text)));
        places.AddRange(bodies.Select((b, i) => ($"problem body #{i}", b)));
        // The throttled address is logged once for its window, by address only.
        Assert.Single(fleet.Orchestrator.Output.Split('\n'), l => l.Contains("wrong credentials (ApiKey) within", StringComparison.Ordinal));
        var leaks = (from place in places from secret in secrets
                     where place.Text.Contains(secret.Value, StringComparison.Ordinal)
                     select $"{secret.Key} in {place.Where}").ToList();
        Assert.True(leaks.Count == 0, string.Join("; ", leaks));
        output.WriteLine($"searched {places.Count} places ({otlp.Exports.Count} OTLP exports, {bodies.Count} problem bodies, 2 process logs) for {secrets.Count} secrets");
    }
}
