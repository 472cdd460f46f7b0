using D8.AppHost.Ollama;
using YamlDotNet.RepresentationModel;
using static D8.AppHost.Publishing.Compose.Yaml;

namespace D8.AppHost.Publishing.Compose;

/// <summary>Builds docker-compose.generated.yml and .env.example from the AppHost's resources.</summary>
internal sealed class ComposeGenerator(DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext)
{
    /// <summary>Name of the standalone dashboard service.</summary>
    public const string DashboardService = "aspire-dashboard";

    private static readonly string[] DashboardImage = ["mcr.microsoft.com/dotnet/aspire-dashboard", "13.6"];
    private readonly ComposeVariables _variables = new();
    private ComposeValueConverter Converter => field ??= new ComposeValueConverter(_variables);

    /// <summary>Generates the compose YAML and the .env.example text.</summary>
    public async Task<(string Compose, string EnvExample)> GenerateAsync(CancellationToken ct)
    {
        var services = new YamlMappingNode();
        var volumes = new SortedSet<string>(StringComparer.Ordinal);
        // docker-compose 1.29 (Debian, Raspberry Pi OS) rejects a top-level `name:`: the project name is a variable.
        _variables.Use(new ComposeVariableAnnotation("COMPOSE_PROJECT_NAME", "Compose project name (prefix of container, network and volume names).", "d8"));
        var otlp = _variables.Use(new ComposeVariableAnnotation("OTEL_EXPORTER_OTLP_ENDPOINT",
            $"OTLP endpoint every service sends traces, logs and metrics to. Empty: telemetry stays in the process.\nWith the 'dashboard' profile on the same host: http://{DashboardService}:18889", ""));

        foreach (var resource in model.Resources.Where(r => r.Annotations.OfType<ComposeServiceAnnotation>().Any()))
        {
            services.Set(resource.Name, await ServiceAsync(resource, otlp, volumes, ct).ConfigureAwait(false));
            foreach (var modelResource in model.Resources.OfType<OllamaModelResource>().Where(m => ReferenceEquals(m.Parent, resource)))
            {
                services.Set(PullServiceName(modelResource), PullService(modelResource));
            }
        }
        services.Set(DashboardService, Dashboard());

        var root = new YamlMappingNode().Set("services", services);
        if (volumes.Count > 0)
        {
            var volumeMap = new YamlMappingNode();
            foreach (var v in volumes) volumeMap.Set(v, new YamlMappingNode());
            root.Set("volumes", volumeMap);
        }

        var header = "Generated from D8.AppHost by: dotnet run --project D8.AppHost -- --operation publish --step publish-compose --output-path \"$PWD\" (from the repository root)\n" +
                     "Do not edit: change the AppHost and regenerate. Variables: see .env.example.\n" +
                     "Accepted by Compose v2 (docker compose) and docker-compose 1.29 (apt install docker-compose).\n" +
                     "Profiles: orchestrator, worker-deepseek, worker-groq, worker-gemini, worker-openai, full-system, dashboard, postgres (PostgreSQL and orchestrator-standby). Example: docker compose -f docker-compose.generated.yml --profile worker-deepseek up -d";
        return (Render(root, header), _variables.RenderEnvExample());
    }

    /// <summary>Name of the one-shot service that pulls a model.</summary>
    public static string PullServiceName(OllamaModelResource model) => $"{model.Parent.Name}-pull";

    private async Task<YamlMappingNode> ServiceAsync(IResource resource, string otlp, SortedSet<string> volumes, CancellationToken ct)
    {
        var compose = resource.Annotations.OfType<ComposeServiceAnnotation>().Single();
        var service = new YamlMappingNode()
            .Set("image", Str(ImageReference(compose.Image)))
            .Set("profiles", Strs(compose.Profiles))
            .Set("restart", Str("unless-stopped"))
            .Set("stop_grace_period", Str(compose.StopGracePeriod));

        var environment = await EnvironmentAsync(resource, ct).ConfigureAwait(false);
        if (resource is ProjectResource)
        {
            environment["OTEL_SERVICE_NAME"] = resource.Name;
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }
        if (environment.Count > 0)
        {
            var env = new YamlMappingNode();
            foreach (var (key, value) in environment) env.Set(key, Str(value));
            service.Set("environment", env);
        }

        if (resource is ProjectResource && resource.Annotations.OfType<ComposeServiceAnnotation>().Single().Profiles.Contains("orchestrator"))
        {
            // The orchestrator is the one service other hosts reach.
            var port = _variables.Use("D8_ORCHESTRATOR_PORT", "Host port the orchestrator's HTTP API is published on.", "8080");
            service.Set("ports", Strs([$"{port}:{compose.DefaultTargetPort}"]));
        }
        if (resource.Annotations.OfType<ComposeHostPortAnnotation>().FirstOrDefault() is { } hostPort)
        {
            var port = _variables.Use(hostPort.Variable, hostPort.Description, hostPort.Default);
            service.Set("ports", Strs([$"{(hostPort.LoopbackOnly ? "127.0.0.1:" : "")}{port}:{hostPort.TargetPort}"]));
        }

        if (resource.TryGetContainerMounts(out var mounts))
        {
            var list = new YamlSequenceNode();
            foreach (var mount in mounts.Where(m => m.Source is not null))
            {
                if (mount.Type == ContainerMountType.Volume) volumes.Add(mount.Source!);
                var type = mount.Type == ContainerMountType.Volume ? "volume" : "bind";
                list.Add(new YamlMappingNode().Set("type", Str(type)).Set("source", Str(mount.Source!)).Set("target", Str(mount.Target)).Set("read_only", Bool(mount.IsReadOnly)));
            }
            if (list.Children.Count > 0) service.Set("volumes", list);
        }

        service.Set("healthcheck", HealthCheck(compose.HealthCheck));

        var dependsOn = DependsOn(resource);
        if (dependsOn.Children.Count > 0) service.Set("depends_on", dependsOn);

        SetLimits(service, resource.Annotations.OfType<ComposeLimitsAnnotation>().FirstOrDefault());
        service.Set("logging", Logging());
        if (resource is ProjectResource) Harden(service);
        else if (resource is OllamaResource) HardenOllama(service);
        else if (resource is PostgresServerResource) HardenPostgres(service);
        var deploy = Deploy(resource);
        if (deploy is not null) service.Set("deploy", deploy);
        return service;
    }

    private async Task<SortedDictionary<string, string>> EnvironmentAsync(IResource resource, CancellationToken ct)
    {
        var raw = new Dictionary<string, object>();
        if (resource.TryGetEnvironmentVariables(out var callbacks))
        {
            var context = new EnvironmentCallbackContext(executionContext, resource, raw, ct);
            foreach (var callback in callbacks) await callback.Callback(context).ConfigureAwait(false);
        }

        var overrides = resource.Annotations.OfType<ComposeVariableAnnotation>().Where(v => v.EnvironmentKey is not null).ToDictionary(v => v.EnvironmentKey!);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in raw)
        {
            // Telemetry settings of the local run (dashboard URL, retry mode) do not apply in compose.
            if (key.StartsWith("OTEL_", StringComparison.Ordinal) || key.StartsWith("ASPIRE_", StringComparison.Ordinal)) continue;
            // Aspire's service-discovery variables duplicate D8_ORCHESTRATOR_URL; D8 does not read them.
            if (key.StartsWith("services__", StringComparison.Ordinal)) continue;
            // No proxy sits in front of D8 in compose: trusting X-Forwarded-For would let a client pick its own address
            // and walk around the per-address limit on failed credentials.
            if (key == "ASPNETCORE_FORWARDEDHEADERS_ENABLED") continue;
            var converted = Converter.Convert(value);
            // The orchestrator serves HTTPS in compose (D8_TLS=true), on the same port.
            if (key == "D8_ORCHESTRATOR_URL" && converted.StartsWith("http://", StringComparison.Ordinal)) converted = "https://" + converted["http://".Length..];
            result[key] = overrides.TryGetValue(key, out var variable)
                ? _variables.Use(variable with { Default = converted, EnvironmentKey = null })
                : converted;
        }
        return result;
    }

    private YamlMappingNode DependsOn(IResource resource)
    {
        var map = new YamlMappingNode();
        foreach (var wait in resource.Annotations.OfType<WaitAnnotation>())
        {
            var (name, condition) = wait.Resource switch
            {
                OllamaModelResource { Parent: OllamaResource } m => (PullServiceName(m), "service_completed_successfully"),
                var r when r.Annotations.OfType<ComposeServiceAnnotation>().Any() =>
                    (r.Name, wait.WaitType == WaitType.WaitForCompletion ? "service_completed_successfully" : "service_healthy"),
                _ => (null, null),
            };
            if (name is not null && !map.Children.ContainsKey(new YamlScalarNode(name)))
            {
                // No `restart: true` here: docker-compose 1.29 rejects it (Compose v2 only).
                map.Set(name, new YamlMappingNode().Set("condition", Str(condition!)));
            }
        }
        return map;
    }

    private YamlMappingNode? Deploy(IResource resource)
    {
        // Limits are the service-level cpus/mem_limit keys (SetLimits): docker-compose 1.29 ignores deploy.resources.limits.
        var resources = new YamlMappingNode();
        if (resource.Annotations.OfType<OllamaGpuAnnotation>().Any())
        {
            var device = new YamlMappingNode().Set("driver", Str("nvidia")).Set("count", Str("all")).Set("capabilities", Strs(["gpu"]));
            resources.Set("reservations", new YamlMappingNode().Set("devices", new YamlSequenceNode(device)));
        }
        return resources.Children.Count == 0 ? null : new YamlMappingNode().Set("resources", resources);
    }

    /// <summary>cpus and mem_limit, honoured by Compose v2 and docker-compose 1.29 alike.</summary>
    private void SetLimits(YamlMappingNode service, ComposeLimitsAnnotation? limits)
    {
        if (limits is null) return;
        service.Set("cpus", Str(_variables.Use(limits.Cpus))).Set("mem_limit", Str(_variables.Use(limits.Memory)));
    }

    /// <summary>json-file logs rotated by size, so an SD card does not fill up.</summary>
    private YamlMappingNode Logging() => new YamlMappingNode()
        .Set("driver", Str("json-file"))
        .Set("options", new YamlMappingNode()
            .Set("max-size", Str(_variables.Use("D8_LOG_MAX_SIZE", "Size at which each container's log file is rotated (json-file driver; SD cards fill up).", "10m")))
            .Set("max-file", Str(_variables.Use("D8_LOG_MAX_FILE", "Rotated log files kept per container.", "3"))));

    private static ComposeLimitsAnnotation Limits(string prefix, string name, string cpus, string memory, string note) => new(
        new ComposeVariableAnnotation($"{prefix}_CPUS", $"CPU limit of {name}. {note}", cpus),
        new ComposeVariableAnnotation($"{prefix}_MEMORY", $"Memory limit of {name}. {note}", memory));

    private YamlMappingNode PullService(OllamaModelResource model)
    {
        var parent = (IResource)model.Parent;
        var compose = parent.Annotations.OfType<ComposeServiceAnnotation>().Single();
        var modelVariable = model.Annotations.OfType<ComposeVariableAnnotation>().First();
        var endpoint = Converter.Convert(model.Parent.EndpointExpression);
        var name = _variables.Use(modelVariable);
        var service = new YamlMappingNode()
            .Set("image", Str(compose.Image))
            .Set("profiles", Strs(compose.Profiles))
            // One shot: pull the model into the shared volume, retried when the network fails. A model already
            // present is not pulled again (`ollama show` answers locally), so an offline Pi still starts.
            .Set("restart", Str("on-failure"))
            .Set("entrypoint", Strs(["/bin/sh", "-c"]))
            .Set("command", Strs([$"ollama show {name} >/dev/null 2>&1 || ollama pull {name}"]))
            .Set("environment", new YamlMappingNode().Set("OLLAMA_HOST", Str(new Uri(endpoint).Authority)))
            .Set("healthcheck", HealthCheck(compose.HealthCheck))
            .Set("depends_on", new YamlMappingNode().Set(parent.Name, new YamlMappingNode().Set("condition", Str("service_healthy"))));
        SetLimits(service, Limits("OLLAMA_PULL", PullServiceName(model), "0.5", "128m", "It only asks the ollama service to download."));
        HardenOllama(service);
        return service.Set("logging", Logging());
    }

    private YamlMappingNode Dashboard()
    {
        var port = _variables.Use("DASHBOARD_PORT", "Host port of the Aspire dashboard UI (profile 'dashboard'), on 127.0.0.1 only: it shows prompts; log in with the URL in docker compose logs aspire-dashboard. From another machine: ssh -L 18888:127.0.0.1:18888 <host>.", "18888");
        var service = new YamlMappingNode()
            .Set("image", Str($"{DashboardImage[0]}:{_variables.Use("ASPIRE_DASHBOARD_TAG", "Tag of the standalone Aspire dashboard image (multi-arch).", DashboardImage[1])}"))
            .Set("profiles", Strs(["dashboard"]))
            .Set("restart", Str("unless-stopped"))
            .Set("stop_grace_period", Str("10s"))
            // The UI asks for the browser token printed in its log (docker compose logs aspire-dashboard): other containers
            // on the network reach its port, and traces hold prompts. OTLP senders are the services on the compose network.
            .Set("environment", new YamlMappingNode().Set("DASHBOARD__FRONTEND__AUTHMODE", Str("BrowserToken")).Set("DASHBOARD__OTLP__AUTHMODE", Str("Unsecured")))
            // Published on loopback only as well; from another machine: ssh -L.
            .Set("ports", Strs([$"127.0.0.1:{port}:18888", "127.0.0.1:4317:18889"]))
            // The chiseled dashboard image has no shell, curl or probe command, and nothing depends on it.
            .Set("healthcheck", new YamlMappingNode().Set("disable", Bool(true)));
        SetLimits(service, Limits("DASHBOARD", DashboardService, "0.5", "256m", "Telemetry kept in memory: raise it for long sessions."));
        return service.Set("logging", Logging());
    }

    /// <summary>
    /// A D8 service runs as the images' non-root app user (uid 1654, which owns the data volume's folder), with no
    /// capabilities, no privilege gain and a read-only root filesystem; /tmp (the runtime's diagnostic sockets) is a
    /// small tmpfs. Everything persistent is on the data volume.
    /// </summary>
    private static void Harden(YamlMappingNode service) => service
        .Set("user", Str("1654:1654"))
        .Set("read_only", Bool(true))
        .Set("tmpfs", Strs(["/tmp:size=16m,mode=1777"]))
        .Set("cap_drop", Strs(["ALL"]))
        .Set("security_opt", Strs(["no-new-privileges:true"]));

    /// <summary>
    /// What the Ollama image tolerates: it runs as root and writes its own volume, so no user change or read-only
    /// root; it needs no capability (port 11434, files it owns) and never gains privileges.
    /// </summary>
    private static void HardenOllama(YamlMappingNode service) => service
        .Set("cap_drop", Strs(["ALL"]))
        .Set("security_opt", Strs(["no-new-privileges:true"]));

    /// <summary>
    /// What the postgres image tolerates: its entrypoint starts as root to own the data folder, then runs the server as
    /// the postgres user (gosu), so it keeps only the capabilities that takes; nothing gains privileges; the root
    /// filesystem is read-only with the socket folder and /tmp in memory (data on the volume).
    /// </summary>
    private static void HardenPostgres(YamlMappingNode service) => service
        .Set("read_only", Bool(true))
        .Set("tmpfs", Strs(["/tmp:size=16m,mode=1777", "/var/run/postgresql:size=1m,mode=2777"]))
        .Set("cap_drop", Strs(["ALL"]))
        .Set("cap_add", Strs(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]))
        .Set("security_opt", Strs(["no-new-privileges:true"]))
        .Set("shm_size", Str("128m"));

    private static YamlMappingNode HealthCheck(IReadOnlyList<string> test) => new YamlMappingNode()
        .Set("test", Strs(test))
        .Set("interval", Str("15s"))
        // 10 s: the probe is a second .NET process; on a busy Pi (Ollama on 3 cores) its start-up alone can take seconds.
        .Set("timeout", Str("10s"))
        .Set("retries", Int(5))
        .Set("start_period", Str("30s"));

    private string ImageReference(string image)
    {
        if (image.Contains("${D8_REGISTRY", StringComparison.Ordinal))
        {
            _variables.Use(new ComposeVariableAnnotation("D8_REGISTRY",
                "Registry prefix of the D8 images, ending in '/' (e.g. 192.168.1.10:5000/d8/). Empty: the local images `d8 images` built or `docker load` loaded.", ""));
            _variables.Use(new ComposeVariableAnnotation("D8_TAG", "Tag of the D8 images.", "latest"));
        }
        return image;
    }
}
