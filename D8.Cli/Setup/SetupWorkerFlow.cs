using System.CommandLine;
using D8.Cli.Configuration;
using D8.Cli.Doctor.Checks;
using D8.Cli.Ollama;
using D8.Cli.Verification;
using D8.Contracts;
using D8.Contracts.Trust;
using Spectre.Console;

namespace D8.Cli.Setup;

/// <summary>One run of <c>d8 setup worker</c>: gathers each answer, checks it, then writes the .env.</summary>
internal sealed class SetupWorkerFlow(CliContext ctx, ParseResult parse, SetupWorkerOptions o, bool interactive)
{
    private IAnsiConsole Console => ctx.Console;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var envPath = ctx.Env.ResolvePath(parse.GetRequiredValue(o.EnvFile));
        var existing = EnvFile.Load(envPath);
        string? Existing(string key) => existing.Get(key);

        // 1. Provider.
        var providerName = parse.GetValue(o.Provider) ?? Existing(WorkerEnvNames.Provider);
        ProviderInfo provider;
        if (providerName is not null) provider = ProviderArgument.Parse(providerName);
        else if (interactive)
        {
            provider = Console.Prompt(new SelectionPrompt<ProviderInfo>()
                .Title("Which provider will this worker use?")
                .UseConverter(p => Markup.Escape($"{p.Name} — {p.Title}"))
                .AddChoices(ProviderCatalog.All));
        }
        else throw Missing("--provider");
        Console.MarkupLine($"provider: [bold]{Markup.Escape(provider.Name)}[/]");

        // 2. Orchestrator URL, checked by GET /health.
        var orchestrator = await AskCheckedAsync(
            parse.GetValue(o.OrchestratorUrl) ?? Existing(WorkerEnvNames.OrchestratorUrl) ?? ctx.Env.Get("D8_ORCHESTRATOR_URL"),
            "--orchestrator-url", "Orchestrator URL (e.g. https://192.168.1.10:8080):", secret: false,
            async value =>
            {
                var url = ConnectionSettings.ParseUrl(value, "--orchestrator-url");
                RefusePlainHttp(url);
                return (await OrchestratorProbe.ReachableAsync(ctx, url, ct)).Outcome;
            });
        var orchestratorUrl = ConnectionSettings.ParseUrl(orchestrator, "--orchestrator-url");
        if (orchestratorUrl.IsLoopback)
        {
            OutcomeWriter.Write(Console, null, Outcome.Warn($"{orchestratorUrl} is this machine's loopback: a worker container cannot reach it there",
                "use the orchestrator host's LAN address unless the worker runs in the same compose project"));
        }

        // 3. Join token, checked without registering.
        var joinToken = await AskCheckedAsync(
            parse.GetValue(o.JoinToken) ?? ctx.Env.Get("D8_JOIN_TOKEN") ?? Existing(WorkerEnvNames.JoinToken),
            "--join-token", "Join token:", secret: true,
            value => OrchestratorProbe.JoinTokenAsync(ctx, orchestratorUrl, value, ct));

        // 4. Model.
        var model = ChooseModel(provider, provider.ModelVariable is { } mv ? Existing(mv) : null);

        // 5. Provider key (cloud) or Ollama (local).
        string? apiKey = null, baseUrl = null;
        if (provider.NeedsApiKey)
        {
            baseUrl = parse.GetValue(o.BaseUrl) ?? (provider.BaseUrlVariable is { } bv ? Existing(bv) : null) ?? provider.DefaultBaseUrl?.AbsoluteUri;
            if (baseUrl is null)
            {
                baseUrl = interactive ? Console.Prompt(new TextPrompt<string>("Base URL of the OpenAI-compatible server:")) : throw Missing("--base-url");
            }
            var endpoint = ConnectionSettings.ParseUrl(baseUrl, "--base-url");
            apiKey = await AskCheckedAsync(
                parse.GetValue(o.ApiKey) ?? (provider.KeyVariable is { } kv ? ctx.Env.Get(kv) ?? Existing(kv) : null)
                    ?? ctx.Env.Get(WorkerEnvNames.ProviderApiKey),
                "--api-key", $"{provider.Name} API key{(provider.KeyUrl is { } u ? $" (from {u})" : "")}:", secret: true,
                value => ProviderKeyProbe.CheckAsync(ctx, provider, endpoint, value, model, ct));
            // Only write the base URL when it differs from the worker's built-in default.
            if (provider.DefaultBaseUrl is { } d && endpoint == d) baseUrl = null;
        }
        else
        {
            var explicitOllama = parse.GetValue(o.OllamaUrl);
            var url = OllamaEndpoint.Resolve(explicitOllama, ctx.Env);
            var (reachable, present) = await OllamaProbe.CheckAsync(ctx, url, model, ct);
            if (reachable.Failed && explicitOllama is null)
            {
                // The compose profile starts its own Ollama, so a missing local one is not fatal here.
                reachable = Outcome.Warn(reachable.Message, "the worker-deepseek profile starts Ollama itself; pass --ollama-url to use another one");
            }
            OutcomeWriter.Write(Console, null, reachable);
            if (present is not null) OutcomeWriter.Write(Console, null, present);
            if (reachable.Failed) return 1;
        }

        // 6. Write only what the compose file reads (plus D8_PROVIDER for d8 doctor).
        var file = existing;
        file.Comment("Written by `d8 setup worker`; read by docker-compose.generated.yml (see .env.example). Holds secrets: keep it private.");
        var written = new List<string>();
        void Set(string key, string? value)
        {
            if (value is null) return;
            file.Set(key, value);
            written.Add(WorkerEnvNames.Secrets.Contains(key) ? $"{key}=(hidden)" : $"{key}={value}");
        }
        Set(WorkerEnvNames.Provider, provider.Name);
        Set(WorkerEnvNames.OrchestratorUrl, orchestratorUrl.AbsoluteUri.TrimEnd('/'));
        Set(WorkerEnvNames.JoinToken, joinToken);
        if (provider.ModelVariable is { } modelVariable) Set(modelVariable, model);
        if (provider.KeyVariable is { } keyVariable) Set(keyVariable, apiKey);
        if (baseUrl is not null) Set(provider.BaseUrlVariable ?? WorkerEnvNames.BaseUrl, baseUrl);
        if (provider == ProviderCatalog.Ollama)
        {
            foreach (var (key, value) in ModelAdvisor.ContainerLimits(ctx.Env.System.Memory.Read().TotalBytes)) Set(key, value);
        }
        else if (provider.LimitPrefix is { } limits)
        {
            Set(limits + "_CPUS", Existing(limits + "_CPUS") ?? "0.5");
            Set(limits + "_MEMORY", Existing(limits + "_MEMORY") ?? "256m");
        }
        // Image source, worker name, project name and log rotation: every other variable the compose file reads.
        Set(ComposeProjectName, Existing(ComposeProjectName) ?? "d8");
        Set(ImageRegistry, parse.GetValue(o.Registry) is { Length: > 0 } registry ? registry.Trim().TrimEnd('/') + "/" : Existing(ImageRegistry) ?? "");
        Set(ImageTag, parse.GetValue(o.Tag) ?? Existing(ImageTag) ?? "latest");
        // Empty: the worker registers as <provider>-<host name>, so several Pis and several workers on one Pi differ.
        Set(WorkerNameVariable, parse.GetValue(o.WorkerName) ?? Existing(WorkerNameVariable) ?? "");
        Set(LogMaxSize, Existing(LogMaxSize) ?? "10m");
        Set(LogMaxFile, Existing(LogMaxFile) ?? "3");
        file.Save(envPath);
        Console.MarkupLine($"wrote [bold]{Markup.Escape(envPath)}[/]: {Markup.Escape(string.Join(", ", written))}");

        // 7. If the compose file is here, prove the .env fits the profile before the user starts it.
        var composeFile = parse.GetRequiredValue(o.ComposeFile);
        var composePath = ctx.Env.ResolvePath(composeFile);
        if (File.Exists(composePath))
        {
            var check = ComposeFileCheck.Check(composePath, provider.Profile, key => file.Get(key) ?? ctx.Env.Get(key));
            OutcomeWriter.Write(Console, "compose file", check);
            if (check.Failed) return 1;
        }
        var compose = await ComposeCommandAsync(ct);
        Console.WriteLine("start the worker with:");
        Console.WriteLine("  " + StartCommand(composeFile, parse.GetRequiredValue(o.EnvFile), provider, compose));
        return 0;
    }

    private const string ComposeProjectName = "COMPOSE_PROJECT_NAME", ImageRegistry = "D8_REGISTRY", ImageTag = "D8_TAG",
        WorkerNameVariable = "D8_WORKER_NAME", LogMaxSize = "D8_LOG_MAX_SIZE", LogMaxFile = "D8_LOG_MAX_FILE";

    /// <summary>The exact compose command for this provider's profile.</summary>
    public static string StartCommand(string composeFile, string envFile, ProviderInfo provider, string compose = "docker compose") =>
        $"{compose} -f {composeFile} --env-file {envFile} --profile {provider.Profile} up -d";

    /// <summary>"docker compose" when the v2 plugin answers, else "docker-compose" when Debian's 1.29 is installed.</summary>
    private async Task<string> ComposeCommandAsync(CancellationToken ct)
    {
        var plugin = await ctx.Env.System.Commands.RunAsync("docker", ["compose", "version", "--short"], TimeSpan.FromSeconds(20), ct);
        if (plugin.ExitCode == 0) return "docker compose";
        var standalone = await ctx.Env.System.Commands.RunAsync("docker-compose", ["version", "--short"], TimeSpan.FromSeconds(20), ct);
        return standalone.ExitCode == 0 ? "docker-compose" : "docker compose";
    }

    private string ChooseModel(ProviderInfo provider, string? existing)
    {
        if (parse.GetValue(o.Model) is { } flag) return flag;
        string? suggestion;
        if (provider == ProviderCatalog.Ollama)
        {
            var memory = ctx.Env.System.Memory.Read().TotalBytes;
            suggestion = ModelAdvisor.Suggest(memory);
            var gb = memory is { } m ? $"{m / (double)(1L << 30):0.0} GB" : "unknown";
            if (suggestion is null)
            {
                OutcomeWriter.Write(Console, null, Outcome.Warn($"this machine has {gb} of RAM: too little for a local model",
                    "use a cloud provider (groq or gemini) instead"));
                suggestion = ModelAdvisor.Small.Model;
            }
            else
            {
                Console.MarkupLine($"detected {gb} of RAM: suggesting [bold]{Markup.Escape(suggestion)}[/]");
            }
        }
        else
        {
            suggestion = provider.DefaultModel;
        }
        suggestion = existing ?? suggestion;
        if (interactive)
        {
            var prompt = new TextPrompt<string>("Model:");
            if (suggestion is not null) prompt.DefaultValue(suggestion);
            return Console.Prompt(prompt);
        }
        return suggestion ?? throw Missing("--model");
    }

    /// <summary>
    /// Takes the given value (or prompts for one), checks it, and returns it when the check does not fail.
    /// Interactive runs ask again after a failed check; scripted runs stop with exit code 1.
    /// </summary>
    private async Task<string> AskCheckedAsync(string? given, string flag, string question, bool secret, Func<string, Task<Outcome>> check)
    {
        var value = given;
        while (true)
        {
            if (value is null)
            {
                if (!interactive) throw Missing(flag);
                var prompt = new TextPrompt<string>(question);
                if (secret) prompt.Secret();
                value = Console.Prompt(prompt).Trim();
            }
            var outcome = await check(value);
            OutcomeWriter.Write(Console, null, outcome);
            if (!outcome.Failed) return value;
            if (!interactive) throw new CliException($"setup stopped: {outcome.Message}");
            value = null;
        }
    }

    /// <summary>Before the join token is asked for or sent: the worker would refuse this URL too (exit code 4).</summary>
    private void RefusePlainHttp(Uri url)
    {
        if (PlainHttp.Refusal(url, ctx.PlainHttpAllowed) is { } refusal)
        {
            throw new CliException("setup stopped: --orchestrator-url " + refusal, PlainHttp.ExitCode);
        }
    }

    private static CliException Missing(string flag) =>
        new($"{flag} is required when not running interactively");
}
