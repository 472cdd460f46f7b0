using System.Data.Common;
using D8.Contracts;
using D8.Contracts.Trust;

namespace D8.Worker.Configuration;

/// <summary>
/// Reads and validates the worker's D8_* configuration in the shape every D8 loader has: through a
/// <see cref="SettingsReader"/>, every problem collected as one sentence naming the key, none thrown (the caller's
/// <see cref="SettingsReader.ThrowIfInvalid"/> refuses the start with exit code 2).
/// </summary>
public static class WorkerOptionsLoader
{
    /// <summary>Builds the options; null when a problem was found (each one sentence in <paramref name="settings"/>, no secrets).</summary>
    public static WorkerOptions? Load(SettingsReader settings)
    {
        var errorsBefore = settings.Errors.Count;
        string? Get(string key) => settings.Text(key);

        // Several orchestrators sharing one PostgreSQL database: comma-separated, the worker follows the active one.
        IReadOnlyList<Uri> orchestrators = [];
        if (Get("D8_ORCHESTRATOR_URL") is not { } orchestratorText) settings.Refuse("D8_ORCHESTRATOR_URL is required.");
        else if (ActiveOrchestratorHandler.ParseList(orchestratorText, out var urlError) is { } parsedUrls) orchestrators = parsedUrls;
        else settings.Refuse($"D8_ORCHESTRATOR_URL {urlError} (several orchestrators: separate their URLs with commas).");
        var orchestrator = orchestrators.FirstOrDefault();
        var joinToken = Get("D8_JOIN_TOKEN");
        if (joinToken is null) settings.Refuse("D8_JOIN_TOKEN is required (the orchestrator's join token).");
        string? pin = null;
        if (joinToken is not null)
        {
            if (!JoinToken.TryParse(joinToken, out var parsed, out var tokenError)) settings.Refuse("D8_JOIN_TOKEN: " + tokenError + ".");
            else pin = parsed.Pin;
            if (pin is not null && orchestrators.FirstOrDefault(u => u.Scheme == "http") is { } orchestratorHttp)
            {
                // Refused before anything is sent: the pin can only be checked over TLS.
                settings.Refuse($"D8_ORCHESTRATOR_URL {orchestratorHttp} is plain HTTP but the join token pins the orchestrator's certificate: " +
                           "use https:// (the orchestrator serves HTTPS on the same port).");
            }
        }

        // The provider's defaults (endpoint, model, key variable, free-tier budgets) come from the catalogue.
        var providerText = Get("D8_PROVIDER");
        var provider = ProviderCatalog.Find(providerText);
        if (provider is null)
        {
            settings.Refuse(providerText is null
                ? $"D8_PROVIDER is required: one of {ProviderCatalog.NameList}."
                : $"D8_PROVIDER '{providerText}' is unknown: use one of {ProviderCatalog.NameList}.");
            return null;
        }
        var isOllama = provider == ProviderCatalog.Ollama;

        // Aspire's connection string wins over URL + model for Ollama.
        string? connectionEndpoint = null, connectionModel = null;
        if (isOllama && Get("D8_OLLAMA_CONNECTION") is { } connection)
        {
            try
            {
                var builder = new DbConnectionStringBuilder { ConnectionString = connection };
                connectionEndpoint = builder.TryGetValue("Endpoint", out var e) ? e?.ToString() : null;
                connectionModel = builder.TryGetValue("Model", out var m) ? m?.ToString() : null;
                if (connectionEndpoint is null) settings.Refuse("D8_OLLAMA_CONNECTION has no Endpoint=… part.");
            }
            catch (ArgumentException)
            {
                settings.Refuse("D8_OLLAMA_CONNECTION is not a connection string of the form Endpoint=http://host:11434;Model=name.");
            }
        }

        var modelText = connectionModel ?? Get("D8_MODEL") ?? provider.DefaultModel;
        var models = (modelText ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (models.Length == 0) settings.Refuse($"D8_MODEL is required for provider {provider.Name} (comma-separated; the first is the default).");

        Uri? providerUrl;
        if (isOllama)
        {
            providerUrl = connectionEndpoint is not null
                ? ParseUrl(connectionEndpoint, "D8_OLLAMA_CONNECTION Endpoint", required: true, settings)
                : ParseUrl(Get("D8_OLLAMA_URL") ?? provider.DefaultBaseUrl!.OriginalString, "D8_OLLAMA_URL", required: true, settings);
        }
        else
        {
            providerUrl = ParseUrl(Get("D8_PROVIDER_BASE_URL"), "D8_PROVIDER_BASE_URL", required: provider.DefaultBaseUrl is null, settings)
                ?? provider.DefaultBaseUrl;
        }

        var apiKey = Get("D8_PROVIDER_API_KEY") ?? (provider.KeyVariable is { } keyVariable ? Get(keyVariable) : null);
        if (provider.NeedsApiKey && apiKey is null)
        {
            settings.Refuse($"D8_PROVIDER_API_KEY (or {provider.KeyVariable}) is required for provider {provider.Name}.");
        }

        var (rpm, tpm, rpd, _) = provider.FreeTier;
        var taskKinds = TaskKinds(Get("D8_TASK_KINDS"), settings);
        var options = new WorkerOptions
        {
            OrchestratorUrl = orchestrator!,
            OrchestratorUrls = orchestrators,
            JoinToken = joinToken ?? "",
            OrchestratorPin = pin,
            AllowPlaintext = settings.Flag(PlainHttp.AllowVariable, false),
            WorkerName = Get("D8_WORKER_NAME") ?? $"{provider.Name}-{HostName(Get("D8_HOST_NAME_FILE"))}",
            Provider = provider,
            Models = models,
            ProviderUrl = providerUrl!,
            ApiKey = apiKey,
            Concurrency = (int)settings.Whole("D8_CONCURRENCY", isOllama ? 1 : 4, 1, 256),
            ShutdownGrace = TimeSpan.FromSeconds((int)settings.Whole("D8_SHUTDOWN_GRACE_SECONDS", 30, 0, 3600)),
            RequestsPerMinute = (int)settings.Whole("D8_RPM", rpm, 0, int.MaxValue),
            TokensPerMinute = (int)settings.Whole("D8_TPM", tpm, 0, int.MaxValue),
            RequestsPerDay = (int)settings.Whole("D8_RPD", rpd, 0, int.MaxValue),
            BudgetTimeScale = (int)settings.Whole("D8_BUDGET_TIME_SCALE", 1, 1, 10_000),
            OllamaKeepAlive = Get("D8_OLLAMA_KEEP_ALIVE") ?? "10m",
            PullModel = settings.Flag("D8_PULL_MODEL", true),
            RequestTimeout = TimeSpan.FromSeconds((int)settings.Whole("D8_REQUEST_TIMEOUT_SECONDS", isOllama ? 1800 : 120, 1, 86400)),
            TaskKinds = taskKinds,
        };
        return settings.Errors.Count > errorsBefore ? null : options;
    }

    /// <summary>The host's name: read from D8_HOST_NAME_FILE (compose mounts the host's /etc/hostname there), else the machine name.</summary>
    private static string HostName(string? file)
    {
        try
        {
            if (file is not null && File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } name) return name;
        }
        catch (IOException)
        {
            // Unreadable file: fall back to the container's own name.
        }
        return Environment.MachineName;
    }

    /// <summary>D8_TASK_KINDS: comma-separated kinds (each 1–64 characters); unset means every kind in <see cref="EvolutionTaskKinds.All"/>.</summary>
    private static IReadOnlyList<string> TaskKinds(string? text, SettingsReader settings)
    {
        if (text is null) return EvolutionTaskKinds.All;
        var kinds = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
        if (kinds.Length == 0 || kinds.Any(k => k.Length > 64))
        {
            settings.Refuse($"D8_TASK_KINDS '{text}' must list task kinds (1 to 64 characters each), e.g. {string.Join(",", EvolutionTaskKinds.All)}.");
            return EvolutionTaskKinds.All;
        }
        return kinds;
    }

    private static Uri? ParseUrl(string? text, string key, bool required, SettingsReader settings)
    {
        if (text is null)
        {
            if (required) settings.Refuse($"{key} is required.");
            return null;
        }
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }
        settings.Refuse($"{key} '{text}' is not an absolute http(s) URL.");
        return null;
    }
}
