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

        var root = new YamlMappingNode().Set("name", Str("d8")).Set("services", services);
        if (volumes.Count > 0)
        {
            var volumeMap = new YamlMappingNode();
            foreach (var v in volumes) volumeMap.Set(v, new YamlMappingNode());
            root.Set("volumes", volumeMap);
        }

        var header = "Generated from D8.AppHost by: dotnet run --project D8.AppHost -- --operation publish --step publish-compose --output-path \"$PWD\" (from the repository root)\n" +
                     "Do not edit: change the AppHost and regenerate. Variables: see .env.example.\n" +
                     "Profiles: orchestrator, worker-deepseek, worker-groq, worker-gemini, full-system, dashboard. Example: docker compose -f docker-compose.generated.yml --profile worker-deepseek up -d";
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

        if (resource.TryGetContainerMounts(out var mounts))
        {
            var list = new YamlSequenceNode();
            foreach (var mount in mounts.Where(m => m.Type == ContainerMountType.Volume && m.Source is not null))
            {
                volumes.Add(mount.Source!);
                list.Add(new YamlMappingNode().Set("type", Str("volume")).Set("source", Str(mount.Source!)).Set("target", Str(mount.Target)).Set("read_only", Bool(mount.IsReadOnly)));
            }
            if (list.Children.Count > 0) service.Set("volumes", list);
        }

        service.Set("healthcheck", HealthCheck(compose.HealthCheck));

        var dependsOn = DependsOn(resource);
        if (dependsOn.Children.Count > 0) service.Set("depends_on", dependsOn);

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
            var converted = Converter.Convert(value);
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
                map.Set(name, new YamlMappingNode().Set("condition", Str(condition!)).Set("restart", Bool(true)));
            }
        }
        return map;
    }

    private YamlMappingNode? Deploy(IResource resource)
    {
        var resources = new YamlMappingNode();
        if (resource.Annotations.OfType<ComposeLimitsAnnotation>().FirstOrDefault() is { } limits)
        {
            resources.Set("limits", new YamlMappingNode().Set("cpus", Str(_variables.Use(limits.Cpus))).Set("memory", Str(_variables.Use(limits.Memory))));
        }
        if (resource.Annotations.OfType<OllamaGpuAnnotation>().Any())
        {
            var device = new YamlMappingNode().Set("driver", Str("nvidia")).Set("count", Str("all")).Set("capabilities", Strs(["gpu"]));
            resources.Set("reservations", new YamlMappingNode().Set("devices", new YamlSequenceNode(device)));
        }
        return resources.Children.Count == 0 ? null : new YamlMappingNode().Set("resources", resources);
    }

    private YamlMappingNode PullService(OllamaModelResource model)
    {
        var parent = (IResource)model.Parent;
        var compose = parent.Annotations.OfType<ComposeServiceAnnotation>().Single();
        var modelVariable = model.Annotations.OfType<ComposeVariableAnnotation>().First();
        var endpoint = Converter.Convert(model.Parent.EndpointExpression);
        return new YamlMappingNode()
            .Set("image", Str(compose.Image))
            .Set("profiles", Strs(compose.Profiles))
            // One shot: pull the model into the shared volume, retried when the network fails.
            .Set("restart", Str("on-failure"))
            .Set("entrypoint", Strs(["/bin/sh", "-c"]))
            .Set("command", Strs([$"ollama pull {_variables.Use(modelVariable)}"]))
            .Set("environment", new YamlMappingNode().Set("OLLAMA_HOST", Str(new Uri(endpoint).Authority)))
            .Set("healthcheck", HealthCheck(compose.HealthCheck))
            .Set("depends_on", new YamlMappingNode().Set(parent.Name, new YamlMappingNode().Set("condition", Str("service_healthy")).Set("restart", Bool(true))));
    }

    private YamlMappingNode Dashboard()
    {
        var port = _variables.Use("DASHBOARD_PORT", "Host port of the Aspire dashboard UI (profile 'dashboard'). It has no login: keep it on a trusted network.", "18888");
        return new YamlMappingNode()
            .Set("image", Str($"{DashboardImage[0]}:{_variables.Use("ASPIRE_DASHBOARD_TAG", "Tag of the standalone Aspire dashboard image (multi-arch).", DashboardImage[1])}"))
            .Set("profiles", Strs(["dashboard"]))
            .Set("restart", Str("unless-stopped"))
            .Set("stop_grace_period", Str("10s"))
            .Set("environment", new YamlMappingNode().Set("DASHBOARD__FRONTEND__AUTHMODE", Str("Unsecured")).Set("DASHBOARD__OTLP__AUTHMODE", Str("Unsecured")))
            .Set("ports", Strs([$"{port}:18888", "4317:18889"]))
            // The chiseled dashboard image has no shell, curl or probe command, and nothing depends on it.
            .Set("healthcheck", new YamlMappingNode().Set("disable", Bool(true)));
    }

    private static YamlMappingNode HealthCheck(IReadOnlyList<string> test) => new YamlMappingNode()
        .Set("test", Strs(test))
        .Set("interval", Str("15s"))
        .Set("timeout", Str("5s"))
        .Set("retries", Int(5))
        .Set("start_period", Str("30s"));

    private string ImageReference(string image)
    {
        if (image.Contains("${D8_REGISTRY", StringComparison.Ordinal))
        {
            _variables.Use(new ComposeVariableAnnotation("D8_REGISTRY", "Registry and owner of the D8 images (built for linux/amd64 and linux/arm64, see README).", "ghcr.io/yourname"));
            _variables.Use(new ComposeVariableAnnotation("D8_TAG", "Tag of the D8 images.", "latest"));
        }
        return image;
    }
}
