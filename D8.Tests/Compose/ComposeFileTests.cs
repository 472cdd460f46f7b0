using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Json.Schema;
using D8.Tests.Infrastructure;

namespace D8.Tests.Compose;

/// <summary>Checks the compose file the AppHost publishes: schema, profiles, variables, secrets, images, drift.</summary>
[Collection(ComposeOutput.Collection)]
public sealed partial class ComposeFileTests(ComposeOutput output)
{
    private static readonly string[] Profiles = ["orchestrator", "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai", "full-system", "dashboard", "postgres"];
    private static readonly string[] SecretVariables = ["D8_JOIN_TOKEN", "D8_API_KEYS", "GROQ_API_KEY", "GEMINI_API_KEY", "POSTGRES_PASSWORD"];

    [Fact]
    public void Committed_files_are_exactly_what_the_AppHost_generates()
    {
        var root = AppPaths.RepoRoot;
        Assert.Equal(File.ReadAllText(Path.Combine(root, "docker-compose.generated.yml")), output.Compose);
        Assert.Equal(File.ReadAllText(Path.Combine(root, ".env.example")), output.EnvExample);
    }

    [Fact]
    public void Compose_file_validates_against_the_compose_specification()
    {
        var schema = ComposeSchema.Value;
        using var doc = JsonDocument.Parse(output.Json.ToJsonString());
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"));
        Assert.True(result.IsValid, string.Join("\n", errors));
    }

    [Fact]
    public void Schema_check_rejects_an_invalid_service()
    {
        // Proves the validation above can fail: restart must be a string, not a number.
        var schema = ComposeSchema.Value;
        var broken = JsonNode.Parse(output.Json.ToJsonString())!;
        broken["services"]!["orchestrator"]!["restrt"] = 3;
        using var doc = JsonDocument.Parse(broken.ToJsonString());
        Assert.False(schema.Evaluate(doc.RootElement).IsValid);
    }

    [Fact]
    public void Every_profile_starts_on_its_own()
    {
        foreach (var profile in Profiles)
        {
            var members = output.Services.Where(s => ServiceProfiles(s.Value!).Contains(profile)).Select(s => s.Key).ToHashSet();
            Assert.NotEmpty(members);
            foreach (var service in members)
            {
                foreach (var dependency in DependsOn(output.Services[service]!))
                {
                    Assert.True(members.Contains(dependency), $"In profile '{profile}', {service} depends on {dependency}, which the profile does not start.");
                }
            }
        }
    }

    [Fact]
    public void Expected_services_are_in_their_profiles()
    {
        Assert.Equal(["orchestrator", "postgres", "orchestrator-standby", "ollama", "ollama-pull", "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai", "aspire-dashboard"], output.Services.Select(s => s.Key));
        Assert.Equal(["orchestrator", "postgres", "orchestrator-standby"], output.Services.Where(s => ServiceProfiles(s.Value!).Contains("postgres")).Select(s => s.Key));
        Assert.Equal(["ollama", "ollama-pull", "worker-deepseek"], output.Services.Where(s => ServiceProfiles(s.Value!).Contains("worker-deepseek")).Select(s => s.Key));
        var worker = output.Services["worker-deepseek"]!;
        Assert.Equal("service_completed_successfully", (string?)worker["depends_on"]!["ollama-pull"]!["condition"]);
        Assert.Equal("service_healthy", (string?)worker["depends_on"]!["ollama"]!["condition"]);
        Assert.StartsWith("${D8_ORCHESTRATOR_URL:-", (string?)worker["environment"]!["D8_ORCHESTRATOR_URL"]);
    }

    [Fact]
    public void Every_long_running_service_has_a_health_check_restart_policy_and_grace_period()
    {
        foreach (var (name, service) in output.Services.Where(s => s.Key != "aspire-dashboard"))
        {
            var test = service!["healthcheck"]!["test"]!.AsArray().Select(n => (string?)n).ToArray();
            Assert.True(test is ["CMD", ..], $"{name} has no CMD health check");
            Assert.Contains((string?)service["restart"], new[] { "unless-stopped", "on-failure" });
        }
        foreach (var app in new[] { "orchestrator", "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai" })
        {
            Assert.Equal("unless-stopped", (string?)output.Services[app]!["restart"]);
            // Longer than the worker's drain period (D8_SHUTDOWN_GRACE_SECONDS default 30).
            Assert.True(int.Parse(((string)output.Services[app]!["stop_grace_period"]!).TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > 30);
        }
    }

    [Fact]
    public void Docker_compose_1_29_accepts_the_file()
    {
        // Debian's docker-compose 1.29.2 rejects the Compose v2-only keys: top-level name, depends_on.restart.
        Assert.Null(output.Json["name"]);
        foreach (var (name, service) in output.Services)
        {
            if (service!["depends_on"] is JsonObject deps)
            {
                Assert.All(deps, d => Assert.Null(d.Value!["restart"]));
            }
            // 1.29 ignores deploy.resources.limits without --compatibility: limits are cpus/mem_limit.
            Assert.Null(service["deploy"]?["resources"]?["limits"]);
            Assert.StartsWith("${", (string?)service["cpus"]);
            Assert.StartsWith("${", (string?)service["mem_limit"]);
            Assert.Equal("json-file", (string?)service["logging"]!["driver"]);
            Assert.NotNull(service["logging"]!["options"]!["max-size"]);
            Assert.NotNull(service["logging"]!["options"]!["max-file"]);
        }
        Assert.Contains("COMPOSE_PROJECT_NAME=d8", output.EnvExample, StringComparison.Ordinal);
    }

    [Fact]
    public void Workers_are_named_per_host_and_cloud_workers_take_url_and_model()
    {
        foreach (var worker in new[] { "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai" })
        {
            var env = output.Services[worker]!["environment"]!;
            Assert.Equal("${D8_WORKER_NAME:-}", (string?)env["D8_WORKER_NAME"]);
            Assert.Equal("/etc/d8-host-name", (string?)env["D8_HOST_NAME_FILE"]);
            if (worker == "worker-deepseek") continue;
            var prefix = worker["worker-".Length..].ToUpperInvariant();
            Assert.Equal($"${{{prefix}_BASE_URL:-}}", (string?)env["D8_PROVIDER_BASE_URL"]);
            Assert.Equal($"${{{prefix}_MODEL:-}}", (string?)env["D8_MODEL"]);
        }
        Assert.Equal("openai", (string?)output.Services["worker-openai"]!["environment"]!["D8_PROVIDER"]);
    }

    [Fact]
    public void Ollama_is_published_on_loopback_only_and_not_pulled_twice()
    {
        Assert.Equal(["127.0.0.1:${OLLAMA_PORT:-11434}:11434"], output.Services["ollama"]!["ports"]!.AsArray().Select(p => (string?)p));
        var command = (string?)output.Services["ollama-pull"]!["command"]![0];
        Assert.StartsWith("ollama show ", command);
        Assert.Contains("|| ollama pull ", command);
    }

    [Fact]
    public void Every_variable_used_is_declared_in_env_example()
    {
        var declared = DeclaredVariables(output.EnvExample).Keys.ToHashSet();
        var used = VariableUse().Matches(output.Compose).Select(m => m.Groups["name"].Value).ToHashSet();
        Assert.NotEmpty(used);
        Assert.Empty(used.Except(declared));
        // COMPOSE_PROJECT_NAME is read by Compose itself from .env, not interpolated.
        Assert.Empty(declared.Except(used).Except(["COMPOSE_PROJECT_NAME"]));
    }

    [Fact]
    public void No_secret_has_a_value()
    {
        var declared = DeclaredVariables(output.EnvExample);
        foreach (var secret in SecretVariables)
        {
            Assert.Equal("", declared[secret]);
            Assert.DoesNotContain("${" + secret + ":-", output.Compose, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_image_is_multi_arch_or_built_by_us_for_arm64_and_amd64()
    {
        // Upstream images published for linux/amd64 and linux/arm64 (checked on their registries' manifests).
        // postgres is a Docker Official Image, published for amd64 and arm64v8 (among others).
        string[] multiArch = ["ollama/ollama:", "mcr.microsoft.com/dotnet/aspire-dashboard:", "postgres:"];
        foreach (var (name, service) in output.Services)
        {
            var image = (string)service!["image"]!;
            var ours = OurImage().Match(image);
            if (ours.Success)
            {
                var project = ours.Groups["app"].Value == "orchestrator" ? "D8.Orchestrator" : "D8.Worker";
                var csproj = XDocument.Load(Path.Combine(AppPaths.RepoRoot, project, project + ".csproj"));
                var rids = csproj.Descendants("ContainerRuntimeIdentifiers").Single().Value.Split(';');
                Assert.Contains("linux-arm64", rids);
                Assert.Contains("linux-x64", rids);
                Assert.Equal("d8-" + ours.Groups["app"].Value, csproj.Descendants("ContainerRepository").Single().Value);
                Assert.Equal("app", csproj.Descendants("ContainerUser").Single().Value);
            }
            else
            {
                Assert.True(multiArch.Any(image.StartsWith), $"{name} uses {image}, which is neither ours nor a known multi-arch image");
            }
        }
    }

    // The spec names its dialect "https://json-schema.org/draft-07/schema"; JsonSchema.Net registers draft 7 under its
    // canonical id "http://json-schema.org/draft-07/schema#", so the id is normalised (the schema itself is unchanged).
    private static readonly Lazy<JsonSchema> ComposeSchema = new(() => JsonSchema.FromText(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Compose", "compose-spec.json"))
            .Replace("\"https://json-schema.org/draft-07/schema\"", "\"http://json-schema.org/draft-07/schema#\"", StringComparison.Ordinal)));

    private static HashSet<string> ServiceProfiles(JsonNode service) =>
        service["profiles"]?.AsArray().Select(p => (string)p!).ToHashSet() ?? [];

    private static IEnumerable<string> DependsOn(JsonNode service) =>
        service["depends_on"] is JsonObject map ? map.Select(kv => kv.Key) : [];

    private static Dictionary<string, string> DeclaredVariables(string env) =>
        env.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    [GeneratedRegex(@"\$\{(?<name>[A-Z0-9_]+)(:?[-?][^}]*)?\}")]
    private static partial Regex VariableUse();

    [GeneratedRegex(@"^\$\{D8_REGISTRY:-\}d8-(?<app>orchestrator|worker):\$\{D8_TAG:-[^}]+\}$")]
    private static partial Regex OurImage();
}
