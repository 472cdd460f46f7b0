using D8.AppHost.Configuration;
using D8.AppHost.Evolution;
using D8.AppHost.Gateway;
using D8.AppHost.Ollama;
using D8.AppHost.Orchestrator;
using D8.AppHost.Publishing.Compose;
using D8.AppHost.Workers;
using D8.Contracts;

var builder = DistributedApplication.CreateBuilder(args);
var log = builder.CreateStartupLogger();
try
{
    // Secrets: generated and kept in user secrets for local runs; ${VARIABLES} in the compose file.
    var joinToken = builder.AddSecret("join-token", "D8_JOIN_TOKEN", "Token workers present to join the orchestrator. On worker hosts: the pinned token D8J1-<CA sha256>::<secret> that `docker compose exec orchestrator /app/D8.Orchestrator join-token` prints. On the orchestrator host: that token or its bare secret.");
    var apiKey = builder.AddSecret("api-key", "D8_API_KEYS", "Client API key(s), comma-separated.");

    var orchestrator = builder.AddD8Orchestrator(joinToken, apiKey);
    // PostgreSQL and a standby orchestrator: always in the compose file (profile 'postgres'), locally with --Store=postgres.
    builder.AddD8Standby(orchestrator, joinToken, apiKey);

    // DeepSeek on Ollama: auto (container if Docker/Podman answers, else a local Ollama, else none), container, external or none.
    var model = await builder.AddDeepSeekModelAsync(log, CancellationToken.None);

    var workers = WorkerSelection.Select(builder.Configuration, model is not null, builder.ExecutionContext.IsPublishMode, log)
        .Select(provider => builder.AddD8Worker(provider, orchestrator, joinToken, provider == ProviderCatalog.Ollama ? model : null))
        .ToList();
    // A row under each worker with its live figures (model, tokens/s, in flight, cooldown) from the orchestrator.
    builder.AddWorkerLiveFigures(orchestrator, apiKey, workers);
    // A row under the orchestrator with the newest prompt-evolution run: generation, best fitness, tasks.
    builder.AddEvolutionLiveFigures(orchestrator, apiKey);
    // A row under the orchestrator with the OpenAI-compatible calls in flight and queued.
    builder.AddGatewayLiveFigures(orchestrator, apiKey);

    // `--operation publish --step publish-compose --output-path "$PWD"` (run from the repository root; a relative path
    // resolves against the AppHost folder) writes docker-compose.generated.yml and .env.example.
    builder.AddComposePublishing();
    builder.LogFirstRunHints(log);
    builder.QuietHostStartFailure();
}
catch (AppHostSetupException ex)
{
    // Nothing has been started yet: say what to do, no stack trace, exit 1.
    await Console.Error.WriteLineAsync("D8.AppHost cannot start: " + ex.Message);
    return 1;
}

await using var app = builder.Build();
try
{
    await app.RunAsync();
}
catch (DistributedApplicationException ex)
{
    // E.g. a container runtime that answered `info` but cannot create volumes. Disposing the app stops DCP and the
    // processes it started, so nothing is left behind.
    await Console.Error.WriteLineAsync($"D8.AppHost stopped: {ex.Message.Split('\n')[0]}\n" +
        "If the Ollama container could not start: check Docker, or run with --Ollama:Mode=external --Ollama:Url=http://localhost:11434 or --Ollama:Mode=none.");
    return 1;
}
return 0;
