using System.CommandLine;
using D8.Cli.Configuration;
using D8.Cli.Ollama;
using D8.Cli.Verification;
using Spectre.Console;

namespace D8.Cli.Setup;

/// <summary>
/// <c>d8 setup worker</c>: asks (or takes from flags) provider, orchestrator, join token, model and key,
/// checks each against the real service, writes the .env the compose file reads, and prints the command to start.
/// </summary>
public static class SetupWorkerCommand
{
    public const string DefaultComposeFile = "docker-compose.generated.yml";

    public static Command Create(CliContext ctx)
    {
        var o = new SetupWorkerOptions();
        var command = new Command("worker", "Configure a worker on this machine: check every answer, write .env, print the start command");
        o.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var interactive = ctx.Env.Interactive && !parse.GetValue(o.NonInteractive);
            var flow = new SetupWorkerFlow(ctx, parse, o, interactive);
            return await flow.RunAsync(ct);
        });
        return command;
    }
}

/// <summary>The flags of <c>d8 setup worker</c>.</summary>
public sealed class SetupWorkerOptions
{
    public Option<string?> Provider { get; } = new("--provider") { Description = "ollama (DeepSeek, also 'deepseek'), groq, gemini or openai" };
    public Option<string?> OrchestratorUrl { get; } = new("--orchestrator-url") { Description = "Orchestrator URL as the worker will reach it" };
    public Option<string?> JoinToken { get; } = new("--join-token") { Description = "Join token (else $D8_JOIN_TOKEN)" };
    public Option<string?> Model { get; } = new("--model") { Description = "Model (default: suggested by RAM for ollama, the provider's default otherwise)" };
    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "Provider API key (else $GROQ_API_KEY / $GEMINI_API_KEY / $OPENAI_API_KEY, else $D8_PROVIDER_API_KEY)" };
    public Option<string?> BaseUrl { get; } = new("--base-url") { Description = "Provider base URL (required for openai; overrides groq/gemini)" };
    public Option<string?> OllamaUrl { get; } = new("--ollama-url") { Description = "An Ollama already running to check (the worker-deepseek profile starts its own)" };
    public Option<string> EnvFile { get; } = new("--env-file") { Description = "The .env file to write", DefaultValueFactory = _ => ".env" };
    public Option<string> ComposeFile { get; } = new("--compose-file") { Description = "Compose file the start command uses", DefaultValueFactory = _ => SetupWorkerCommand.DefaultComposeFile };
    public Option<string?> Registry { get; } = new("--registry") { Description = "Registry the D8 images come from, e.g. 192.168.1.10:5000 (default: images loaded on this host, see docs/deploy.md)" };
    public Option<string?> Tag { get; } = new("--tag") { Description = "Tag of the D8 images (default: latest)" };
    public Option<string?> WorkerName { get; } = new("--worker-name") { Description = "Name the worker registers with (default: <provider>-<host name>)" };
    public Option<bool> NonInteractive { get; } = new("--non-interactive", "-y") { Description = "Never prompt: take everything from flags, environment and the existing .env" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Provider, OrchestratorUrl, JoinToken, Model, ApiKey, BaseUrl, OllamaUrl, EnvFile, ComposeFile, Registry, Tag, WorkerName, NonInteractive })
        {
            command.Options.Add(option);
        }
    }
}
