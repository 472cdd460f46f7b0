using System.Data.Common;
using System.Globalization;
using D8.Contracts;
using D8.Contracts.Trust;

namespace D8.Worker.Configuration;

/// <summary>Reads and validates the worker's D8_* configuration; every problem is collected, none throws.</summary>
public static class WorkerOptionsLoader
{
    /// <summary>Builds the options, or returns the list of problems (each one line, no secrets).</summary>
    public static (WorkerOptions? Options, IReadOnlyList<string> Errors) Load(IConfiguration config)
    {
        var errors = new List<string>();
        string? Get(string key) => config[key] is { Length: > 0 } v ? v.Trim() : null;

        // Several orchestrators sharing one PostgreSQL database: comma-separated, the worker follows the active one.
        IReadOnlyList<Uri> orchestrators = [];
        if (Get("D8_ORCHESTRATOR_URL") is not { } orchestratorText) errors.Add("D8_ORCHESTRATOR_URL is required.");
        else if (ActiveOrchestratorHandler.ParseList(orchestratorText, out var urlError) is { } parsedUrls) orchestrators = parsedUrls;
        else errors.Add($"D8_ORCHESTRATOR_URL {urlError} (several orchestrators: separate their URLs with commas).");
        var orchestrator = orchestrators.FirstOrDefault();
        var joinToken = Get("D8_JOIN_TOKEN");
        if (joinToken is null) errors.Add("D8_JOIN_TOKEN is required (the orchestrator's join token).");
        string? pin = null;
        if (joinToken is not null)
        {
            if (!JoinToken.TryParse(joinToken, out var parsed, out var tokenError)) errors.Add("D8_JOIN_TOKEN: " + tokenError + ".");
            else pin = parsed.Pin;
            if (pin is not null && orchestrators.FirstOrDefault(u => u.Scheme == "http") is { } orchestratorHttp)
            {
                // Refused before anything is sent: the pin can only be checked over TLS.
                errors.Add($"D8_ORCHESTRATOR_URL {orchestratorHttp} is plain HTTP but the join token pins the orchestrator's certificate: " +
                           "use https:// (the orchestrator serves HTTPS on the same port).");
            }
        }

        // The provider's defaults (endpoint, model, key variable, free-tier budgets) come from the catalogue.
        var providerText = Get("D8_PROVIDER");
        var provider = ProviderCatalog.Find(providerText);
        if (provider is null)
        {
            errors.Add(providerText is null
                ? $"D8_PROVIDER is required: one of {ProviderCatalog.NameList}."
                : $"D8_PROVIDER '{providerText}' is unknown: use one of {ProviderCatalog.NameList}.");
            return (null, errors);
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
                if (connectionEndpoint is null) errors.Add("D8_OLLAMA_CONNECTION has no Endpoint=… part.");
            }
            catch (ArgumentException)
            {
                errors.Add("D8_OLLAMA_CONNECTION is not a connection string of the form Endpoint=http://host:11434;Model=name.");
            }
        }

        var modelText = connectionModel ?? Get("D8_MODEL") ?? provider.DefaultModel;
        var models = (modelText ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (models.Length == 0) errors.Add($"D8_MODEL is required for provider {provider.Name} (comma-separated; the first is the default).");

        Uri? providerUrl;
        if (isOllama)
        {
            providerUrl = connectionEndpoint is not null
                ? ParseUrl(connectionEndpoint, "D8_OLLAMA_CONNECTION Endpoint", required: true, errors)
                : ParseUrl(Get("D8_OLLAMA_URL") ?? provider.DefaultBaseUrl!.OriginalString, "D8_OLLAMA_URL", required: true, errors);
        }
        else
        {
            providerUrl = ParseUrl(Get("D8_PROVIDER_BASE_URL"), "D8_PROVIDER_BASE_URL", required: provider.DefaultBaseUrl is null, errors)
                ?? provider.DefaultBaseUrl;
        }

        var apiKey = Get("D8_PROVIDER_API_KEY") ?? (provider.KeyVariable is { } keyVariable ? Get(keyVariable) : null);
        if (provider.NeedsApiKey && apiKey is null)
        {
            errors.Add($"D8_PROVIDER_API_KEY (or {provider.KeyVariable}) is required for provider {provider.Name}.");
        }

        var (rpm, tpm, rpd, _) = provider.FreeTier;
        var taskKinds = TaskKinds(Get("D8_TASK_KINDS"), errors);
        var options = new WorkerOptions
        {
            OrchestratorUrl = orchestrator!,
            OrchestratorUrls = orchestrators,
            JoinToken = joinToken ?? "",
            OrchestratorPin = pin,
            AllowPlaintext = Bool(Get(PlainHttp.AllowVariable), PlainHttp.AllowVariable, false, errors),
            WorkerName = Get("D8_WORKER_NAME") ?? $"{provider.Name}-{HostName(Get("D8_HOST_NAME_FILE"))}",
            Provider = provider,
            Models = models,
            ProviderUrl = providerUrl!,
            ApiKey = apiKey,
            Concurrency = Int(Get("D8_CONCURRENCY"), "D8_CONCURRENCY", isOllama ? 1 : 4, 1, 256, errors),
            ShutdownGrace = TimeSpan.FromSeconds(Int(Get("D8_SHUTDOWN_GRACE_SECONDS"), "D8_SHUTDOWN_GRACE_SECONDS", 30, 0, 3600, errors)),
            RequestsPerMinute = Int(Get("D8_RPM"), "D8_RPM", rpm, 0, int.MaxValue, errors),
            TokensPerMinute = Int(Get("D8_TPM"), "D8_TPM", tpm, 0, int.MaxValue, errors),
            RequestsPerDay = Int(Get("D8_RPD"), "D8_RPD", rpd, 0, int.MaxValue, errors),
            BudgetTimeScale = Int(Get("D8_BUDGET_TIME_SCALE"), "D8_BUDGET_TIME_SCALE", 1, 1, 10_000, errors),
            OllamaKeepAlive = Get("D8_OLLAMA_KEEP_ALIVE") ?? "10m",
            PullModel = Bool(Get("D8_PULL_MODEL"), "D8_PULL_MODEL", true, errors),
            RequestTimeout = TimeSpan.FromSeconds(Int(Get("D8_REQUEST_TIMEOUT_SECONDS"), "D8_REQUEST_TIMEOUT_SECONDS", isOllama ? 1800 : 120, 1, 86400, errors)),
            TaskKinds = taskKinds,
        };
        return errors.Count > 0 ? (null, errors) : (options, errors);
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
    private static IReadOnlyList<string> TaskKinds(string? text, List<string> errors)
    {
        if (text is null) return EvolutionTaskKinds.All;
        var kinds = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToArray();
        if (kinds.Length == 0 || kinds.Any(k => k.Length > 64))
        {
            errors.Add($"D8_TASK_KINDS '{text}' must list task kinds (1 to 64 characters each), e.g. {string.Join(",", EvolutionTaskKinds.All)}.");
            return EvolutionTaskKinds.All;
        }
        return kinds;
    }

    private static Uri? ParseUrl(string? text, string key, bool required, List<string> errors)
    {
        if (text is null)
        {
            if (required) errors.Add($"{key} is required.");
            return null;
        }
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }
        errors.Add($"{key} '{text}' is not an absolute http(s) URL.");
        return null;
    }

    private static int Int(string? text, string key, int fallback, int min, int max, List<string> errors)
    {
        if (text is null) return fallback;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        errors.Add($"{key} '{text}' must be a whole number from {min} to {max}.");
        return fallback;
    }

    private static bool Bool(string? text, string key, bool fallback, List<string> errors)
    {
        if (text is null) return fallback;
        if (bool.TryParse(text, out var value)) return value;
        if (text is "1" or "yes") return true;
        if (text is "0" or "no") return false;
        errors.Add($"{key} '{text}' must be true or false.");
        return fallback;
    }
}
