using System.CommandLine;
using System.Text.Json;
using D8.Cli.Configuration;
using D8.Cli.Doctor.Checks;
using D8.Cli.Ollama;
using D8.Cli.Setup;
using D8.Cli.Verification;
using Spectre.Console;

namespace D8.Cli.Doctor;

/// <summary><c>d8 doctor</c>: checks this host and its configuration; exit code 1 when any check fails.</summary>
public static class DoctorCommand
{
    /// <summary>Every check, in the order they are shown.</summary>
    public static IReadOnlyList<IDoctorCheck> Checks { get; } =
    [
        new DockerEngineCheck(), new DockerPlatformCheck(), new ComposePluginCheck(), new CpuArchitectureCheck(), new MemoryCheck(), new DiskSpaceCheck(),
        new EnvFileCheck(), new ComposeFileCheck(), new OrchestratorCheck(), new JoinTokenCheck(), new ApiKeyCheck(),
        new OllamaCheck(), new ProviderKeyCheck(), new ClockSkewCheck(),
    ];

    public static Command Create(CliContext ctx)
    {
        var envFile = new Option<string>("--env-file") { Description = "The worker's .env", DefaultValueFactory = _ => ".env" };
        var composeFile = new Option<string>("--compose-file") { Description = "Compose file", DefaultValueFactory = _ => SetupWorkerCommand.DefaultComposeFile };
        var provider = new Option<string?>("--provider") { Description = "Provider to check for (default: D8_PROVIDER from the .env)" };
        var model = new Option<string?>("--model") { Description = "Model to check for (default: D8_MODEL from the .env)" };
        var profile = new Option<string?>("--profile") { Description = "Compose profile to validate (default: the provider's worker profile)" };
        var ollamaUrl = new Option<string?>("--ollama-url") { Description = "Ollama endpoint as reachable from this host" };
        var only = new Option<string[]>("--only") { Description = "Run only these checks (by name)", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var command = new Command("doctor", "Check this host: Docker, resources, .env, compose file, orchestrator, Ollama, provider keys, clock")
        {
            envFile, composeFile, provider, model, profile, ollamaUrl, only, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var doctor = BuildContext(ctx, parse, parse.GetRequiredValue(envFile), parse.GetRequiredValue(composeFile),
                parse.GetValue(provider), parse.GetValue(model), parse.GetValue(profile), parse.GetValue(ollamaUrl));
            var selected = parse.GetValue(only) is { Length: > 0 } names
                ? Checks.Where(c => names.Contains(c.Name, StringComparer.OrdinalIgnoreCase)).ToList()
                : Checks.ToList();
            if (selected.Count == 0)
            {
                throw new CliException("--only matched no check; names: " + string.Join(", ", Checks.Select(c => c.Name)));
            }

            var results = new List<DoctorCheckResult>();
            var asJson = parse.GetValue(json);
            foreach (var check in selected)
            {
                Outcome outcome;
                try
                {
                    outcome = await check.RunAsync(doctor, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // One broken check must not hide the others' answers.
                    outcome = Outcome.Fail(CliApp.Describe(e, ct).Message, "see the message");
                }
                results.Add(new DoctorCheckResult(check.Name, OutcomeWriter.Tag(outcome.Status), outcome.Message, outcome.Fix));
                if (!asJson) OutcomeWriter.Write(ctx.Console, check.Name, outcome);
            }

            var report = new DoctorReport(
                results.Count(r => r.Status == "pass"), results.Count(r => r.Status == "warn"),
                results.Count(r => r.Status == "fail"), results.Count(r => r.Status == "skip"), results);
            if (asJson)
            {
                await ctx.Out.WriteLineAsync(JsonSerializer.Serialize(report, CliJsonContext.Default.DoctorReport));
            }
            else
            {
                ctx.Console.WriteLine($"{report.Passed} passed, {report.Warned} warnings, {report.Failed} failed, {report.Skipped} skipped");
            }
            return report.Failed > 0 ? 1 : 0;
        });
        return command;
    }

    internal static DoctorContext BuildContext(CliContext ctx, ParseResult parse, string envFile, string composeFile,
        string? providerFlag, string? modelFlag, string? profileFlag, string? ollamaFlag)
    {
        var envPath = ctx.Env.ResolvePath(envFile);
        var values = File.Exists(envPath) ? EnvFile.Load(envPath).Values : null;
        string? FromEnvFile(string key) => values is not null && values.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

        var providerName = providerFlag ?? FromEnvFile(WorkerEnvNames.Provider) ?? ctx.Env.Get(WorkerEnvNames.Provider);
        var provider = providerName is null ? null : ProviderArgument.Parse(providerName);
        var model = modelFlag ?? (provider?.ModelVariable is { } mv ? FromEnvFile(mv) : null)?.Split(',')[0].Trim()
            ?? (provider is { DefaultModel.Length: > 0 } p ? p.DefaultModel : null);

        var configFlag = parse.GetValue(ctx.Connection.Config);
        var config = ConfigFile.Load(ConfigFile.PathFor(configFlag, ctx.Env), required: configFlag is not null);
        var urlText = parse.GetValue(ctx.Connection.Url) ?? FromEnvFile(WorkerEnvNames.OrchestratorUrl)
            ?? ctx.Env.Get("D8_ORCHESTRATOR_URL") ?? config.OrchestratorUrl;

        var providerKey = (provider?.KeyVariable is { } kv ? FromEnvFile(kv) ?? ctx.Env.Get(kv) : null)
            ?? FromEnvFile(WorkerEnvNames.ProviderApiKey) ?? ctx.Env.Get(WorkerEnvNames.ProviderApiKey);
        var baseUrl = (provider?.BaseUrlVariable is { } bv ? FromEnvFile(bv) : null) ?? FromEnvFile(WorkerEnvNames.BaseUrl) ?? provider?.DefaultBaseUrl?.AbsoluteUri;

        return new DoctorContext
        {
            Cli = ctx,
            EnvFilePath = envPath,
            EnvValues = values,
            ComposeFilePath = ctx.Env.ResolvePath(composeFile),
            Provider = provider,
            Model = model,
            Profile = profileFlag ?? provider?.Profile,
            // Several orchestrators sharing one database: the doctor checks the first one.
            OrchestratorUrl = urlText is null ? null : ConnectionSettings.ParseUrl(urlText.Split(',')[0], "orchestrator URL"),
            JoinToken = FromEnvFile(WorkerEnvNames.JoinToken) ?? ctx.Env.Get("D8_JOIN_TOKEN"),
            ApiKey = parse.GetValue(ctx.Connection.ApiKey) ?? ctx.Env.Get("D8_API_KEY") ?? FromEnvFile(WorkerEnvNames.ClientApiKey) ?? config.ApiKey,
            ProviderApiKey = providerKey,
            ProviderBaseUrl = baseUrl is null ? null : ConnectionSettings.ParseUrl(baseUrl, WorkerEnvNames.BaseUrl),
            // The compose file publishes its Ollama on 127.0.0.1:${OLLAMA_PORT:-11434}: check that one unless told otherwise.
            OllamaUrl = OllamaEndpoint.Resolve(ollamaFlag ?? ctx.Env.Get("D8_OLLAMA_URL")
                ?? (FromEnvFile("OLLAMA_PORT") is { } port ? $"http://127.0.0.1:{port}" : null), ctx.Env, configFlag),
        };
    }
}
