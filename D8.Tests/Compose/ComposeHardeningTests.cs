using System.Text.Json.Nodes;

namespace D8.Tests.Compose;

/// <summary>The generated compose file's security rules: hardened D8 containers, HTTPS, loopback-only local ports.</summary>
[Collection(ComposeOutput.Collection)]
public sealed class ComposeHardeningTests(ComposeOutput output)
{
    private static readonly string[] D8Services = ["orchestrator", "worker-deepseek", "worker-groq", "worker-gemini", "worker-openai", "orchestrator-standby"];

    private static string[] Strings(JsonNode? node) => node?.AsArray().Select(n => (string?)n ?? "").ToArray() ?? [];

    [Fact]
    public void Every_D8_service_is_non_root_read_only_without_capabilities_or_privilege_gain()
    {
        foreach (var name in D8Services)
        {
            var service = output.Services[name]!;
            Assert.Equal("1654:1654", (string?)service["user"]);
            Assert.True((bool?)service["read_only"], $"{name} has a writable root filesystem");
            Assert.Equal(["ALL"], Strings(service["cap_drop"]));
            Assert.Equal(["no-new-privileges:true"], Strings(service["security_opt"]));
            Assert.Contains(Strings(service["tmpfs"]), t => t.StartsWith("/tmp", StringComparison.Ordinal));
            // No proxy in front: X-Forwarded-For must not pick the address the guessing limit counts.
            Assert.Null(service["environment"]!["ASPNETCORE_FORWARDEDHEADERS_ENABLED"]);
        }
        // The orchestrator's data (database, CA, join token) lives on its volume, the one writable place besides /tmp.
        Assert.Equal("/home/app", (string?)output.Services["orchestrator"]!["volumes"]![0]!["target"]);
    }

    [Fact]
    public void The_orchestrator_serves_https_and_workers_join_over_https()
    {
        Assert.Equal("${D8_TLS:-true}", (string?)output.Services["orchestrator"]!["environment"]!["D8_TLS"]);
        foreach (var name in D8Services.Skip(1).SkipLast(1))
        {
            Assert.Equal("${D8_ORCHESTRATOR_URL:-https://orchestrator:8080}", (string?)output.Services[name]!["environment"]!["D8_ORCHESTRATOR_URL"]);
        }
    }

    [Fact]
    public void Only_the_orchestrator_port_is_published_beyond_loopback()
    {
        foreach (var (name, service) in output.Services)
        {
            foreach (var port in Strings(service!["ports"]))
            {
                if (name is "orchestrator" or "orchestrator-standby") continue;
                Assert.True(port.StartsWith("127.0.0.1:", StringComparison.Ordinal), $"{name} publishes {port} beyond loopback");
            }
        }
        Assert.DoesNotContain("127.0.0.1", (string?)output.Services["orchestrator"]!["ports"]![0], StringComparison.Ordinal);
    }

    [Fact]
    public void Ollama_and_postgres_drop_capabilities_and_privilege_gain_and_the_dashboard_asks_for_its_token()
    {
        foreach (var name in new[] { "ollama", "ollama-pull" })
        {
            Assert.Equal(["ALL"], Strings(output.Services[name]!["cap_drop"]));
            Assert.Equal(["no-new-privileges:true"], Strings(output.Services[name]!["security_opt"]));
        }
        // PostgreSQL: only the capabilities its entrypoint needs to hand the data folder to the postgres user, a
        // read-only root, no privilege gain, its port not published at all (only the orchestrators reach it).
        var postgres = output.Services["postgres"]!;
        Assert.Equal(["ALL"], Strings(postgres["cap_drop"]));
        Assert.Equal(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"], Strings(postgres["cap_add"]));
        Assert.Equal(["no-new-privileges:true"], Strings(postgres["security_opt"]));
        Assert.True((bool?)postgres["read_only"]);
        Assert.Null(postgres["ports"]);
        Assert.Equal("${POSTGRES_PASSWORD}", (string?)postgres["environment"]!["POSTGRES_PASSWORD"]);
        // Other containers on the compose network reach the dashboard's port: its UI needs the token from its log.
        Assert.Equal("BrowserToken", (string?)output.Services["aspire-dashboard"]!["environment"]!["DASHBOARD__FRONTEND__AUTHMODE"]);
    }
}
